"""The price-feed client: CoinGecko v3 and Binance spot REST over httpx.

Endpoints (https://docs.coingecko.com/reference, https://developers.binance.com/docs/binance-spot-api-docs):
CoinGecko `/simple/price`, `/coins/markets`, `/coins/list`, `/coins/{id}/market_chart/range`;
Binance `/api/v3/ticker/price`, `/api/v3/klines`, `/api/v3/exchangeInfo`.

Failure handling:
- network errors and 5xx answers are retried with exponential backoff and full jitter (tenacity);
- a 429 (or Binance's 418 ban) waits the `Retry-After` the server asks for when that is no longer than
  `max_wait_s` (the caller's poll interval), and otherwise raises `RateLimited` at once, so the caller
  skips this cycle instead of blocking; a 429 is never turned into a price;
- a 200 whose body is not the documented JSON (an HTML page from a proxy, truncated JSON) raises
  `FeedMalformed`; other 4xx raise `UpstreamError` with the API's own message.
Bodies are decoded with `loads_exact`, so every price is an exact `Decimal`. The CoinGecko API key is
sent in `x-cg-demo-api-key` (demo plan) or `x-cg-pro-api-key` (pro plan); it never appears in errors.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import tenacity

from impressox_pipelines.market.prices import MalformedResponse, loads_exact

COINGECKO_PUBLIC_URL = "https://api.coingecko.com/api/v3"
COINGECKO_PRO_URL = "https://pro-api.coingecko.com/api/v3"
BINANCE_URL = "https://api.binance.com"
KLINES_PAGE_LIMIT = 1000


class PriceFeedError(RuntimeError):
    """A request to a price source failed; `source` is `coingecko` or `binance`."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class RateLimited(PriceFeedError):
    """The source answered 429/418; `retry_after_s` is its `Retry-After` (None when absent)."""

    def __init__(self, source: str, status: int, retry_after_s: float | None, message: str):
        self.status = status
        self.retry_after_s = retry_after_s
        wait = f"Retry-After {retry_after_s:g} s" if retry_after_s is not None else "no Retry-After"
        super().__init__(source, f"rate limited (HTTP {status}, {wait}): {message}")


class UpstreamError(PriceFeedError):
    """A 4xx/5xx answer or a network failure that retries did not cure; `status` is None for network."""

    def __init__(self, source: str, status: int | None, reason: str):
        self.status = status
        super().__init__(source, reason)


class FeedMalformed(PriceFeedError):
    """A successful answer whose body is not the documented JSON."""


class _RetryableRateLimit(RateLimited):
    """A 429 whose wait fits in the caller's budget: tenacity sleeps `retry_after_s`, then retries."""


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, _RetryableRateLimit | httpx.TransportError):
        return True
    return isinstance(exc, UpstreamError) and exc.status is not None and exc.status >= 500


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date, RFC 9110 §10.2.3); None when
    absent or unreadable (`soon`, `inf`, `nan`). A date in the past is 0. How long to actually stay away
    (capped, with a default for None) is `market.feed_state.rest_seconds`."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_message(response: httpx.Response) -> str:
    """The API's own error text: CoinGecko `status.error_message` / `error`, Binance `msg`."""
    text = response.text
    try:
        body = loads_exact(text)
    except MalformedResponse as exc:
        return str(exc)
    if isinstance(body, dict):
        status = body.get("status")
        if isinstance(status, dict) and status.get("error_message"):
            return str(status["error_message"])[:300]
        for key in ("msg", "error", "message"):
            if body.get(key):
                return str(body[key])[:300]
    return " ".join(text[:200].split())


@dataclass(frozen=True)
class FeedSettings:
    """Where the sources are and how patiently to ask them (seconds throughout)."""

    coingecko_url: str = COINGECKO_PUBLIC_URL
    binance_url: str = BINANCE_URL
    coingecko_api_key: str | None = None
    coingecko_api_plan: str = "demo"
    timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    max_attempts: int = 4
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0


@dataclass
class Fetched:
    """A decoded body and the wall time the request took (retries and waits included)."""

    body: Any
    latency_s: float
    fetched_at: datetime


class PriceFeedClient:
    """Synchronous client for both sources; use as a context manager (closes the connection pool)."""

    def __init__(self, settings: FeedSettings, transport: httpx.BaseTransport | None = None):
        self.settings = settings
        headers = {"accept": "application/json", "user-agent": "impressox-pipelines/0.1"}
        self._coingecko_headers = dict(headers)
        if settings.coingecko_api_key:
            name = "x-cg-pro-api-key" if settings.coingecko_api_plan == "pro" else "x-cg-demo-api-key"
            self._coingecko_headers[name] = settings.coingecko_api_key
        timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
        self._http = httpx.Client(timeout=timeout, headers=headers, transport=transport, follow_redirects=False)
        self.requests_made = 0

    def __enter__(self) -> PriceFeedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- transport ------------------------------------------------------------------------------

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
            return exc.retry_after_s
        backoff = tenacity.wait_exponential_jitter(
            initial=self.settings.backoff_initial_s, max=self.settings.backoff_max_s,
            jitter=self.settings.backoff_initial_s,
        )
        return backoff(state)

    def _get(self, source: str, url: str, params: dict[str, Any] | None, max_wait_s: float) -> Fetched:
        headers = self._coingecko_headers if source == "coingecko" else None
        started = time.monotonic()

        def attempt() -> Any:
            self.requests_made += 1
            response = self._http.get(url, params=params, headers=headers)
            status = response.status_code
            if status in (418, 429):
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                message = _error_message(response)
                if retry_after is not None and retry_after > max_wait_s:
                    raise RateLimited(source, status, retry_after, message)
                raise _RetryableRateLimit(source, status, retry_after, message)
            if status >= 400:
                raise UpstreamError(source, status, f"HTTP {status}: {_error_message(response)}")
            try:
                return loads_exact(response.text)
            except MalformedResponse as exc:
                kind = response.headers.get("content-type", "?")
                raise FeedMalformed(source, f"HTTP {status} {kind}: {exc}") from None

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.settings.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception(_retryable),
            reraise=True,
        )
        try:
            body = retrying(attempt)
        except _RetryableRateLimit as exc:
            raise RateLimited(source, exc.status, exc.retry_after_s, "still rate limited after retries") from None
        except httpx.TransportError as exc:
            raise UpstreamError(source, None, f"network error: {type(exc).__name__}") from None
        return Fetched(body, time.monotonic() - started, datetime.now(UTC))

    def _coingecko(self, path: str, params: dict[str, Any] | None = None, max_wait_s: float = 60.0) -> Fetched:
        return self._get("coingecko", self.settings.coingecko_url.rstrip("/") + path, params, max_wait_s)

    def _binance(self, path: str, params: dict[str, Any] | None = None, max_wait_s: float = 60.0) -> Fetched:
        return self._get("binance", self.settings.binance_url.rstrip("/") + path, params, max_wait_s)

    # -- CoinGecko ------------------------------------------------------------------------------

    def simple_price(self, ids: list[str], vs_currencies: list[str], *, max_wait_s: float = 60.0) -> Fetched:
        """`GET /simple/price?ids=…&vs_currencies=…&include_last_updated_at=true&precision=full`."""
        params = {
            "ids": ",".join(sorted(set(ids))),
            "vs_currencies": ",".join(sorted(set(vs_currencies))),
            "include_last_updated_at": "true",
            "precision": "full",
        }
        return self._coingecko("/simple/price", params, max_wait_s)

    def coins_markets(self, vs_currency: str, ids: list[str], *, max_wait_s: float = 60.0) -> Fetched:
        """`GET /coins/markets?vs_currency=…&ids=…` (one page of up to 250 coins)."""
        params = {"vs_currency": vs_currency, "ids": ",".join(sorted(set(ids))), "per_page": 250, "page": 1}
        return self._coingecko("/coins/markets", params, max_wait_s)

    def coins_list(self, *, max_wait_s: float = 60.0) -> Fetched:
        """`GET /coins/list`: every coin's `id`, `symbol`, `name`."""
        return self._coingecko("/coins/list", None, max_wait_s)

    def market_chart_range(
        self, coin_id: str, vs_currency: str, start: datetime, end: datetime, *, max_wait_s: float = 60.0
    ) -> Fetched:
        """`GET /coins/{id}/market_chart/range?vs_currency=…&from=…&to=…` (UNIX seconds)."""
        params = {"vs_currency": vs_currency, "from": int(start.timestamp()), "to": int(end.timestamp())}
        return self._coingecko(f"/coins/{coin_id}/market_chart/range", params, max_wait_s)

    # -- Binance --------------------------------------------------------------------------------

    def ticker_price(self, *, max_wait_s: float = 60.0) -> Fetched:
        """`GET /api/v3/ticker/price` for every symbol (weight 4, one request whatever the watchlist)."""
        return self._binance("/api/v3/ticker/price", None, max_wait_s)

    def exchange_info(self, *, max_wait_s: float = 60.0) -> Fetched:
        """`GET /api/v3/exchangeInfo`."""
        return self._binance("/api/v3/exchangeInfo", None, max_wait_s)

    def klines(
        self, symbol: str, interval: str, start: datetime, end: datetime, *, max_wait_s: float = 60.0
    ) -> tuple[list[Any], float]:
        """Every `/api/v3/klines` row with `start <= open_time < end`, paging by `startTime`
        (1,000 rows a request); returns the raw rows and the total latency in seconds."""
        rows: list[Any] = []
        latency = 0.0
        cursor = int(start.timestamp() * 1000)
        end_ms = int(end.timestamp() * 1000) - 1
        while cursor <= end_ms:
            params = {"symbol": symbol, "interval": interval, "startTime": cursor, "endTime": end_ms,
                      "limit": KLINES_PAGE_LIMIT}
            fetched = self._binance("/api/v3/klines", params, max_wait_s)
            latency += fetched.latency_s
            page = fetched.body
            if not isinstance(page, list):
                raise FeedMalformed("binance", f"/klines: expected a list, got {type(page).__name__}")
            rows.extend(page)
            last = page[-1][0] if page and isinstance(page[-1], list) and isinstance(page[-1][0], int) else None
            if len(page) < KLINES_PAGE_LIMIT or last is None or last < cursor:
                break
            cursor = last + 1
        return rows, latency
