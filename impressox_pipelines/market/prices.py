"""Exact parsing of CoinGecko and Binance price bodies into `Decimal`s.

JSON numbers are decoded with `parse_float=Decimal`, so `1e-8`, `8.72e-06` and long decimals such as
`69702.3087473573` keep every digit the API sent; Binance's price strings (`"60740.00000000"`) are read
with `Decimal(str)`. A price is positive and finite or it is rejected with a reason: `null`, a missing
field, zero, a negative number, `NaN`/`Infinity`, booleans and non-numeric strings never become prices.

Wire formats followed:
- CoinGecko v3 `/simple/price`: `{"<id>": {"<vs_currency>": number|null, "last_updated_at": epoch_s}}`.
- CoinGecko v3 `/coins/markets`: list of objects with `id`, `symbol`, `current_price`, `last_updated`.
- CoinGecko v3 `/coins/{id}/market_chart/range`: `{"prices": [[ms, number], …], "total_volumes": …}`.
- Binance spot `/api/v3/ticker/price`: `{"symbol", "price"}` or a list of them.
- Binance spot `/api/v3/klines`: 12-field rows `[open_time, "open", "high", "low", "close", "volume",
  close_time, "quote_volume", trades, "taker_base", "taker_quote", "ignore"]`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


class MalformedResponse(ValueError):
    """A body that is not the JSON shape the endpoint documents (an HTML page, truncated JSON, …)."""


class InvalidPrice(ValueError):
    """One price value that cannot be a price (null, zero, negative, non-numeric, not finite)."""


def _reject_constant(name: str) -> Any:
    raise MalformedResponse(f"JSON constant {name} is not a number")


def loads_exact(text: str | bytes) -> Any:
    """Decode a JSON body with every non-integer number as an exact `Decimal` (integers stay `int`).

    Raises:
        MalformedResponse: for an empty body, an HTML page or any invalid/truncated JSON, with a short
            excerpt of what arrived.
    """
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8", errors="replace")
    stripped = text.lstrip()
    if not stripped:
        raise MalformedResponse("empty body")
    if stripped.startswith("<"):
        raise MalformedResponse(f"HTML page instead of JSON: {_excerpt(stripped)!r}")
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise MalformedResponse(f"invalid JSON ({exc.msg} at char {exc.pos}): {_excerpt(stripped)!r}") from None


def _excerpt(text: str, limit: int = 80) -> str:
    return " ".join(text[:limit].split())


def to_price(value: Any) -> Decimal:
    """A positive, finite `Decimal` from a decoded JSON value (`Decimal`, `int` or numeric string).

    Raises:
        InvalidPrice: naming why (null, boolean, non-numeric string, zero, negative, not finite).
    """
    if value is None:
        raise InvalidPrice("price is null")
    if isinstance(value, bool):
        raise InvalidPrice(f"price is a boolean ({value})")
    if isinstance(value, Decimal):
        price = value
    elif isinstance(value, int):
        price = Decimal(value)
    elif isinstance(value, str):
        try:
            price = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidPrice(f"price is not a number: {value[:40]!r}") from None
    else:
        raise InvalidPrice(f"price has type {type(value).__name__}")
    if not price.is_finite():
        raise InvalidPrice(f"price is not finite: {price}")
    if price <= 0:
        raise InvalidPrice(f"price is not positive: {price}")
    return price


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass(frozen=True)
class PriceQuote:
    """One price of one pair (e.g. `BTC/USD`) from one source at one time (UTC)."""

    pair: str
    price: Decimal
    source: str
    timestamp: datetime


@dataclass
class ParsedPrices:
    """The quotes a body held, and every requested pair it did not price, with the reason."""

    quotes: dict[str, PriceQuote]
    missing: dict[str, str]


def parse_simple_price(
    body: Any, wanted: Mapping[str, tuple[str, str]], fetched_at: datetime, source: str = "coingecko"
) -> ParsedPrices:
    """Quotes from a decoded `/simple/price` body.

    `wanted` maps each pair to its `(coin_id, vs_currency)`. The quote's timestamp is the entry's
    `last_updated_at` when present, else `fetched_at`.

    Raises:
        MalformedResponse: when the body is not a JSON object.
    """
    if not isinstance(body, dict):
        raise MalformedResponse(f"/simple/price: expected an object, got {type(body).__name__}")
    result = ParsedPrices({}, {})
    for pair, (coin_id, vs) in wanted.items():
        entry = body.get(coin_id)
        if not isinstance(entry, dict):
            result.missing[pair] = f"coingecko: id {coin_id!r} absent from the response"
            continue
        if vs not in entry:
            result.missing[pair] = f"coingecko: no {vs!r} price for {coin_id!r}"
            continue
        try:
            price = to_price(entry[vs])
        except InvalidPrice as exc:
            result.missing[pair] = f"coingecko: {coin_id}/{vs}: {exc}"
            continue
        updated = entry.get("last_updated_at")
        at = (
            datetime.fromtimestamp(int(updated), tz=UTC)
            if isinstance(updated, int) and not isinstance(updated, bool) and updated > 0
            else fetched_at
        )
        result.quotes[pair] = PriceQuote(pair, price, source, at)
    return result


def parse_coins_markets(body: Any, wanted: Mapping[str, tuple[str, str]], fetched_at: datetime) -> ParsedPrices:
    """Quotes from a decoded `/coins/markets` body (one `vs_currency` per request, as the API takes).

    Raises:
        MalformedResponse: when the body is not a JSON list.
    """
    if not isinstance(body, list):
        raise MalformedResponse(f"/coins/markets: expected a list, got {type(body).__name__}")
    rows = {row.get("id"): row for row in body if isinstance(row, dict)}
    result = ParsedPrices({}, {})
    for pair, (coin_id, _vs) in wanted.items():
        row = rows.get(coin_id)
        if row is None:
            result.missing[pair] = f"coingecko: id {coin_id!r} absent from /coins/markets"
            continue
        try:
            price = to_price(row.get("current_price"))
        except InvalidPrice as exc:
            result.missing[pair] = f"coingecko: {coin_id}: {exc}"
            continue
        at = fetched_at
        updated = row.get("last_updated")
        if isinstance(updated, str):
            try:
                at = datetime.fromisoformat(updated.replace("Z", "+00:00")).astimezone(UTC)
            except ValueError:
                at = fetched_at
        result.quotes[pair] = PriceQuote(pair, price, "coingecko", at)
    return result


def parse_ticker_prices(body: Any, wanted: Mapping[str, str], fetched_at: datetime) -> ParsedPrices:
    """Quotes from a decoded Binance `/api/v3/ticker/price` body (one object or a list).

    `wanted` maps each pair to its Binance symbol (`BTC/USD` → `BTCUSDT`). Binance gives no time for a
    spot price, so the quote is stamped with `fetched_at`.

    Raises:
        MalformedResponse: when the body is neither an object nor a list.
    """
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        raise MalformedResponse(f"/ticker/price: expected a list, got {type(body).__name__}")
    prices = {row.get("symbol"): row.get("price") for row in body if isinstance(row, dict)}
    result = ParsedPrices({}, {})
    for pair, symbol in wanted.items():
        if symbol not in prices:
            result.missing[pair] = f"binance: {symbol} absent from /ticker/price"
            continue
        try:
            result.quotes[pair] = PriceQuote(pair, to_price(prices[symbol]), "binance", fetched_at)
        except InvalidPrice as exc:
            result.missing[pair] = f"binance: {symbol}: {exc}"
    return result


@dataclass(frozen=True)
class Candle:
    """One OHLCV candle; `open_time` is the start of the interval (UTC), prices exact."""

    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def parse_klines(body: Any) -> tuple[list[Candle], list[str]]:
    """Candles from a decoded Binance `/api/v3/klines` body, and a reason for every row rejected.

    Raises:
        MalformedResponse: when the body is not a JSON list.
    """
    if not isinstance(body, list):
        raise MalformedResponse(f"/klines: expected a list, got {type(body).__name__}")
    candles: list[Candle] = []
    rejected: list[str] = []
    for index, row in enumerate(body):
        if not isinstance(row, list) or len(row) < 6 or not isinstance(row[0], int):
            rejected.append(f"row {index}: not a kline row")
            continue
        try:
            o, h, low, c = (to_price(v) for v in row[1:5])
            volume = Decimal(str(row[5]))
        except (InvalidPrice, InvalidOperation) as exc:
            rejected.append(f"row {index} ({row[0]}): {exc}")
            continue
        if not (low <= min(o, c) and max(o, c) <= h):
            rejected.append(f"row {index} ({row[0]}): high/low do not bound open/close")
            continue
        candles.append(Candle(from_epoch_ms(row[0]), o, h, low, c, volume))
    return candles, rejected


def parse_market_chart(body: Any) -> tuple[list[tuple[int, Decimal]], dict[int, Decimal], list[str]]:
    """`(prices, volumes_by_ms, rejected)` from a decoded `/coins/{id}/market_chart/range` body.

    Raises:
        MalformedResponse: when `prices` is not a list.
    """
    if not isinstance(body, dict) or not isinstance(body.get("prices"), list):
        raise MalformedResponse("/market_chart/range: expected an object with a 'prices' list")
    points: list[tuple[int, Decimal]] = []
    rejected: list[str] = []
    for index, item in enumerate(body["prices"]):
        try:
            ms = item[0]
            if not isinstance(ms, int):
                raise InvalidPrice("timestamp is not an integer")
            points.append((ms, to_price(item[1])))
        except (InvalidPrice, IndexError, TypeError) as exc:
            rejected.append(f"point {index}: {exc}")
    volumes: dict[int, Decimal] = {}
    for item in body.get("total_volumes") or []:
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], int) and isinstance(
            item[1], Decimal | int
        ):
            volumes[item[0]] = Decimal(item[1])
    return points, volumes, rejected


def candles_from_points(
    points: Iterable[tuple[int, Decimal]], interval_ms: int, volumes: Mapping[int, Decimal] | None = None
) -> list[Candle]:
    """Bucket price points (ms, price) into OHLC candles of `interval_ms`; volume is the sum of the
    points' `total_volumes` entries when given (CoinGecko reports rolling 24 h volume, so it is a rough
    figure), else 0."""
    buckets: dict[int, list[tuple[int, Decimal]]] = {}
    for ms, price in sorted(points):
        buckets.setdefault(ms - ms % interval_ms, []).append((ms, price))
    candles = []
    for start, items in sorted(buckets.items()):
        prices = [p for _, p in items]
        volume = sum(((volumes or {}).get(ms, Decimal(0)) for ms, _ in items), Decimal(0))
        candles.append(Candle(from_epoch_ms(start), prices[0], max(prices), min(prices), prices[-1], volume))
    return candles
