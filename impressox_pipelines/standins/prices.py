"""The price stand-in: CoinGecko v3 and Binance spot REST in their real wire formats, on one server.

Paths: CoinGecko under `/api/v3` (`/simple/price`, `/coins/markets`, `/coins/list`,
`/coins/{id}/market_chart/range`, `/ping`), Binance under `/api/v3` too (`/ticker/price`, `/klines`,
`/exchangeInfo`); their path names do not overlap. Point `IMPRESSOX_COINGECKO_URL` at `<url>/api/v3` and
`IMPRESSOX_BINANCE_URL` at `<url>`.

Data:
- generated (default): a deterministic random walk per market (value noise over 17 octaves of minutes,
  so any minute of any day has a price without state), for a small universe including `1INCHUSDT`,
  a sub-cent `PEPEUSDT` and BTC-quoted markets. Klines cover real time up to now; live prices
  (`/ticker/price`, `/simple/price`) run on a clock `speed` times faster than real time, so prices move
  visibly between two polls.
- replay (`replay_dir` given): the real captures. Binance klines are served at their historical times
  from `nautilus_binance/http_spot_market_klines.json` (BTCUSDT) and freqtrade's candle files
  (`UNITTEST_BTC-1m` as UNITTESTBTC, `converted_from_feather/*-5m*` as ETHBTC, ADABTC, LTCBTC, XRPETH,
  XRPUSDT); `/ticker/price` replays each series' closes as a live stream, one candle per
  `interval / speed` seconds, looping; `/exchangeInfo` is the captured body plus entries for the
  replayed series. CoinGecko answers from `coingecko_net/` (`GetPrices`, `GetMarkets`, `GetAssets`,
  `GetMarketChart`), and its 429 body is `issue_snippets/coingecko_429_rate_limit.json`.

Control (JSON bodies):
- `POST /_admin/price` `{"pair": "BTC/USD", "price": "101000"}` pins a pair on both APIs (`null` unpins);
  a pin of 0 is served as 0, as the real APIs serve a halted market; a negative, non-finite or
  non-numeric price (or a malformed pair) is refused with 400 `{"error": …}`.
- `POST /_admin/fault` `{"service": "coingecko"|"binance", "kind": "rate_limit"|"server_error"|"html"|
  "malformed"|"value", "times": 1, "retry_after": 119, "status": 503, "value": null}` makes the next
  `times` answers of that service fail that way (`times: -1` until reset); `value` replaces every
  price with a raw JSON value (null, 0, -5, "abc").
- `POST /_admin/reset`; `GET /_admin/requests` lists the requests received (path, query, and the name
  of the CoinGecko API-key header sent, never its value).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from impressox_pipelines.market.symbols import DEFAULT_COINGECKO_IDS, SymbolError, parse_pair

DEFAULT_SPEED = 300.0
_OCTAVES = 17
_SIGMA = 0.00045  # per-minute log-price scale of the finest octave

# symbol, base, quote, start price, tick size, CoinGecko id of the base
_UNIVERSE = [
    ("BTCUSDT", "BTC", "USDT", "65000", "0.01", "bitcoin"),
    ("ETHUSDT", "ETH", "USDT", "3200", "0.01", "ethereum"),
    ("SOLUSDT", "SOL", "USDT", "150", "0.01", "solana"),
    ("BNBUSDT", "BNB", "USDT", "580", "0.01", "binancecoin"),
    ("XRPUSDT", "XRP", "USDT", "0.52", "0.0001", "ripple"),
    ("ADAUSDT", "ADA", "USDT", "0.45", "0.0001", "cardano"),
    ("DOGEUSDT", "DOGE", "USDT", "0.12", "0.00001", "dogecoin"),
    ("LTCUSDT", "LTC", "USDT", "80", "0.01", "litecoin"),
    ("1INCHUSDT", "1INCH", "USDT", "0.35", "0.0001", "1inch"),
    ("PEPEUSDT", "PEPE", "USDT", "0.0000085", "0.00000001", "pepe"),
    ("ETHBTC", "ETH", "BTC", "0.049", "0.00001", None),
    ("SOLBTC", "SOL", "BTC", "0.0023", "0.0000001", None),
    ("XRPBTC", "XRP", "BTC", "0.0000080", "0.00000001", None),
]
# /coins/list entries: several ids carry "eth", as on the real API, so resolution must not guess.
_COINS = [
    ("bitcoin", "btc", "Bitcoin"), ("ethereum", "eth", "Ethereum"), ("solana", "sol", "Solana"),
    ("binancecoin", "bnb", "BNB"), ("ripple", "xrp", "XRP"), ("cardano", "ada", "Cardano"),
    ("dogecoin", "doge", "Dogecoin"), ("litecoin", "ltc", "Litecoin"), ("1inch", "1inch", "1inch"),
    ("pepe", "pepe", "Pepe"), ("ethereum-wormhole", "eth", "Ethereum (Wormhole)"),
    ("bridged-ether-starkgate", "eth", "Bridged Ether (StarkGate)"), ("tether", "usdt", "Tether"),
]
_GENERATED_429 = {"status": {"error_code": 429, "error_message": "You've exceeded the Rate Limit (stand-in)."}}
_BINANCE_429 = {"code": -1003, "msg": "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per "
                "minute. Please use WebSocket Streams for live updates to avoid polling the API."}
_HTML_PAGE = ("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><h1>Checking your "
              "browser before accessing the API.</h1></body></html>")


@lru_cache(maxsize=200_000)
def _noise(key: str, octave: int, index: int) -> float:
    digest = hashlib.blake2b(f"{key}:{octave}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


def walk(key: str, minute: float) -> float:
    """Deterministic random-walk-like log-price offset of market `key` at epoch minute `minute`."""
    total = 0.0
    for octave in range(_OCTAVES):
        scale = 1 << octave
        x = minute / scale
        i = math.floor(x)
        f = x - i
        f = f * f * (3 - 2 * f)
        a, b = _noise(key, octave, i), _noise(key, octave, i + 1)
        total += (a + (b - a) * f) * math.sqrt(scale)
    return total * _SIGMA


@dataclass
class _Fault:
    kind: str
    times: int
    retry_after: float | None = None
    status: int | None = None
    value: Any = None


@dataclass
class _Series:
    """A replayed candle series: rows `[open_ms, "o", "h", "l", "c", "v", close_ms, …]` (Binance shape)."""

    symbol: str
    base: str
    quote: str
    interval: str
    interval_s: int
    rows: list[list[Any]] | None  # None until first use (freqtrade files are large)


@dataclass
class _State:
    started: float = field(default_factory=time.time)
    faults: dict[str, list[_Fault]] = field(default_factory=dict)
    pins: dict[str, Decimal] = field(default_factory=dict)  # binance symbol or "<id>/<vs>" → price
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _fmt8(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.00000001')):f}"


def _pin_price(raw: Any) -> Decimal | None:
    """The price of a `POST /_admin/price` body: None (unpin), or a decimal the real APIs could serve.

    0 is one (Binance lists a halted market at `"0.00000000"`, CoinGecko a dead coin at 0), so it is pinned
    and served like any price. A negative, non-finite or non-numeric price is not: those are the
    `value` fault's to serve.

    Raises:
        ValueError: saying why the price cannot be pinned.
    """
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValueError(f"price {json.dumps(raw)[:40]}: a decimal string or number expected (null unpins)")
    try:
        price = Decimal(str(raw).strip())
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or price < 0:
        raise ValueError(f"price {str(raw)[:40]!r}: a finite price >= 0 expected; serve hostile values "
                         f"with POST /_admin/fault {{\"kind\": \"value\"}}")
    try:
        _fmt8(price)
    except InvalidOperation:
        raise ValueError(f"price {str(raw)[:40]!r}: too large for Binance's 8-decimal price strings") from None
    return price


def _num(value: Decimal | int) -> float | int:
    """A JSON number the way CoinGecko writes one (shortest repr; e-notation for tiny values); captured
    integers stay integers."""
    return value if isinstance(value, int) else float(value)


class PriceData:
    """Where prices come from: the generated walk or the replayed captures."""

    def __init__(self, replay_dir: Path | None, speed: float):
        self.replay_dir = Path(replay_dir) if replay_dir else None
        self.speed = speed
        self.started = time.time()
        self.series: dict[str, _Series] = {}
        self._paths: dict[str, Path] = {}
        self.markets = {row[0]: row for row in _UNIVERSE}
        self._coingecko_prices: dict[tuple[str, str], Decimal] = {}
        if self.replay_dir:
            self._load_replay()
            self._coingecko_prices = self._captured_coingecko_prices()

    # -- replay ---------------------------------------------------------------------------------

    def _load_replay(self) -> None:
        root = self.replay_dir
        nautilus = root / "nautilus_binance" / "http_spot_market_klines.json"
        if nautilus.exists():
            self.series["BTCUSDT"] = _Series("BTCUSDT", "BTC", "USDT", "1m", 60, json.loads(nautilus.read_text()))
        freqtrade = [
            ("UNITTEST_BTC-1m.json", "UNITTESTBTC", "UNITTEST", "BTC", "1m", 60),
            ("converted_from_feather/ETH_BTC-5m.json", "ETHBTC", "ETH", "BTC", "5m", 300),
            ("converted_from_feather/ADA_BTC-5m.json", "ADABTC", "ADA", "BTC", "5m", 300),
            ("converted_from_feather/LTC_BTC-5m.json", "LTCBTC", "LTC", "BTC", "5m", 300),
            ("converted_from_feather/XRP_ETH-5m.json", "XRPETH", "XRP", "ETH", "5m", 300),
            ("converted_from_feather/XRP_USDT_USDT-5m-futures.json", "XRPUSDT", "XRP", "USDT", "5m", 300),
        ]
        for name, symbol, base, quote, interval, seconds in freqtrade:
            path = root / "freqtrade" / name
            if path.exists():
                self.series[symbol] = _Series(symbol, base, quote, interval, seconds, None)
                self._paths[symbol] = path

    def _rows(self, series: _Series) -> list[list[Any]]:
        if series.rows is None:
            path = self._paths[series.symbol]
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            rows = []
            for ms, o, h, low, c, v in json.loads(raw, parse_float=Decimal):
                prices = [_fmt8(Decimal(x)) for x in (o, h, low, c)]
                close_ms = ms + series.interval_s * 1000 - 1
                rows.append([ms, *prices, _fmt8(Decimal(v)), close_ms, "0", 0, "0", "0", "0"])
            series.rows = rows
        return series.rows

    def _replay_price(self, series: _Series, now: float) -> Decimal:
        rows = self._rows(series)
        index = int((now - self.started) * self.speed / series.interval_s) % len(rows)
        return Decimal(str(rows[index][4]))

    # -- prices ---------------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        return sorted(self.series) if self.replay_dir else sorted(self.markets)

    def live_price(self, symbol: str, now: float) -> Decimal | None:
        if self.replay_dir:
            series = self.series.get(symbol)
            return self._replay_price(series, now) if series else None
        market = self.markets.get(symbol)
        if market is None:
            return None
        minute = (self.started + (now - self.started) * self.speed) / 60
        return self._walk_price(market, minute)

    def _walk_price(self, market: tuple, minute: float) -> Decimal:
        symbol, _, _, start, tick, _ = market
        value = Decimal(start) * Decimal(repr(math.exp(walk(symbol, minute))))
        return max(value.quantize(Decimal(tick)), Decimal(tick))

    def klines(self, symbol: str, interval: str, start_ms: int, end_ms: int, limit: int) -> list[list[Any]] | None:
        if self.replay_dir:
            series = self.series.get(symbol)
            if series is None:
                return None
            if interval != series.interval:
                return []
            return [r for r in self._rows(series) if start_ms <= r[0] <= end_ms][:limit]
        market = self.markets.get(symbol)
        if market is None:
            return None
        step = {"1m": 1, "5m": 5, "15m": 15, "1h": 60}.get(interval)
        if step is None:
            return []
        now_minute = int(time.time() // 60)
        first = -(-start_ms // 60_000)
        first += (-first) % step
        rows = []
        for minute in range(first, min(end_ms // 60_000, now_minute) + 1, step):
            o, c = self._walk_price(market, minute), self._walk_price(market, minute + step)
            wiggle = Decimal(repr(1 + abs(_noise(symbol, 99, minute)) * 0.0004))
            tick = Decimal(market[4])
            high = max((max(o, c) * wiggle).quantize(tick), o, c)
            low = max(min((min(o, c) / wiggle).quantize(tick), o, c), tick)
            volume = Decimal(repr(abs(_noise(symbol, 98, minute)) * 40 + 1)).quantize(Decimal("0.00001"))
            open_ms = minute * 60_000
            rows.append([open_ms, _fmt8(o), _fmt8(high), _fmt8(low), _fmt8(c), _fmt8(volume),
                         open_ms + step * 60_000 - 1, _fmt8(volume * c), 100 + minute % 50, "0", "0", "0"])
            if len(rows) >= limit:
                break
        return rows

    def exchange_info(self) -> dict[str, Any]:
        def entry(symbol: str, base: str, quote: str) -> dict[str, Any]:
            return {"symbol": symbol, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
                    "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
                    "orderTypes": ["LIMIT", "MARKET"], "isSpotTradingAllowed": True,
                    "filters": [{"filterType": "PRICE_FILTER", "minPrice": "0.00000001",
                                 "maxPrice": "1000000.00000000", "tickSize": "0.00000001"}],
                    "permissions": ["SPOT"]}

        if self.replay_dir:
            path = self.replay_dir / "nautilus_binance" / "http_spot_market_exchange_info.json"
            info = json.loads(path.read_text()) if path.exists() else {"timezone": "UTC", "symbols": []}
            listed = {s["symbol"] for s in info["symbols"]}
            info["symbols"] += [
                entry(s.symbol, s.base, s.quote) for s in self.series.values() if s.symbol not in listed
            ]
            info["serverTime"] = int(time.time() * 1000)
            return info
        return {"timezone": "UTC", "serverTime": int(time.time() * 1000),
                "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                                "limit": 6000}],
                "exchangeFilters": [], "symbols": [entry(m[0], m[1], m[2]) for m in _UNIVERSE]}

    # -- CoinGecko --------------------------------------------------------------------------------

    def coingecko_price(self, coin_id: str, vs: str, now: float) -> Decimal | None:
        if self.replay_dir:
            return self._coingecko_prices.get((coin_id, vs))
        usd_symbol = next((m[0] for m in _UNIVERSE if m[5] == coin_id), None)
        if usd_symbol is None:
            return None
        usd = self.live_price(usd_symbol, now) * Decimal("1.0002")  # CoinGecko's aggregate sits near Binance
        if vs == "usd":
            return usd
        if vs == "btc":
            btc_usd = self.live_price("BTCUSDT", now) * Decimal("1.0002")
            return (usd / btc_usd).quantize(Decimal("1e-12"))
        if vs == "eur":
            return (usd * Decimal("0.92")).quantize(Decimal("1e-10"))
        return None

    def _captured_coingecko_prices(self) -> dict[tuple[str, str], Decimal | int]:
        """The captured JSON values as decoded (int or exact Decimal), so they are served as written."""
        prices: dict[tuple[str, str], Decimal | int] = {}
        for row in self.captured("GetMarkets.json") or []:
            if row.get("current_price") is not None:
                prices[(row["id"], "usd")] = row["current_price"]
        body = self.captured("GetPrices.json") or {}
        for coin_id, quotes in body.items():
            for vs, value in quotes.items():
                if vs != "last_updated_at" and value is not None:
                    prices[(coin_id, vs)] = value
        return prices

    def captured(self, name: str, folder: str = "coingecko_net") -> Any:
        path = self.replay_dir / folder / name
        return json.loads(path.read_text(), parse_float=Decimal) if path.exists() else None

    def coins_list(self) -> list[dict[str, Any]]:
        if self.replay_dir:
            return self.captured("GetAssets.json") or []
        return [{"id": i, "symbol": s, "name": n} for i, s, n in _COINS]

    def market_chart(self, coin_id: str, vs: str, start_s: int, end_s: int) -> dict[str, Any] | None:
        if self.replay_dir:
            body = self.captured("GetMarketChart.json") if coin_id == "ethereum" else None
            if body is None:
                return None
            return {key: [p for p in points if start_s * 1000 <= p[0] <= end_s * 1000]
                    for key, points in body.items()}
        symbol = next((m[0] for m in _UNIVERSE if m[5] == coin_id), None)
        if symbol is None or vs not in ("usd", "btc"):
            return None
        span = end_s - start_s
        step_s = 300 if span <= 86_400 else 3_600 if span <= 90 * 86_400 else 86_400
        end_s = min(end_s, int(time.time()))
        prices, caps, volumes = [], [], []
        first = -(-start_s // step_s) * step_s
        btc = self.markets["BTCUSDT"]
        for at in range(first, end_s + 1, step_s):
            price = self._walk_price(self.markets[symbol], at / 60) * Decimal("1.0002")
            if vs == "btc":
                price = price / self._walk_price(btc, at / 60)
            ms = at * 1000
            prices.append([ms, _num(price)])
            caps.append([ms, _num(price * 19_000_000)])
            volumes.append([ms, _num(price * 400_000)])
        return {"prices": prices, "market_caps": caps, "total_volumes": volumes}


def create_app(replay_dir: Path | None = None, speed: float = DEFAULT_SPEED) -> Starlette:
    """The ASGI app; `speed` is how many times faster than real time live prices move."""
    data = PriceData(replay_dir, speed)
    state = _State()

    def coingecko_429() -> Any:
        if data.replay_dir:
            captured = data.captured("coingecko_429_rate_limit.json", folder="issue_snippets")
            if captured is not None:
                return captured
        return _GENERATED_429

    def take_fault(service: str) -> _Fault | None:
        with state.lock:
            queue = state.faults.get(service) or []
            if not queue:
                return None
            fault = queue[0]
            if fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    queue.pop(0)
            return fault

    def log(request: Request, service: str) -> None:
        key_header = next((h for h in ("x-cg-pro-api-key", "x-cg-demo-api-key") if h in request.headers), None)
        with state.lock:
            state.requests.append({"service": service, "path": request.url.path,
                                   "query": dict(request.query_params), "api_key_header": key_header,
                                   "at": time.time()})

    def failure(service: str, fault: _Fault) -> Response | None:
        if fault.kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
            body = coingecko_429() if service == "coingecko" else _BINANCE_429
            return JSONResponse(body, status_code=fault.status or 429, headers=headers)
        if fault.kind == "server_error":
            body = ({"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}
                    if service == "binance" else {"error": "Internal Server Error"})
            return JSONResponse(body, status_code=fault.status or 500)
        if fault.kind == "html":
            return Response(_HTML_PAGE, status_code=fault.status or 200, media_type="text/html")
        if fault.kind == "malformed":
            return Response('{"bitcoin": {"usd": 6', status_code=200, media_type="application/json")
        return None

    def raw_json(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body, default=_num), status_code=status, media_type="application/json")

    def price_value(price: Decimal, fault: _Fault | None, as_string: bool) -> Any:
        if fault is not None and fault.kind == "value":
            return fault.value
        return _fmt8(price) if as_string else _num(price)

    def guarded(service: str):
        def wrap(handler):
            async def endpoint(request: Request) -> Response:
                log(request, service)
                fault = take_fault(service)
                if fault is not None:
                    failed = failure(service, fault)
                    if failed is not None:
                        return failed
                return handler(request, fault)
            return endpoint
        return wrap

    # -- Binance --------------------------------------------------------------------------------

    def pinned_binance(symbol: str, now: float) -> Decimal | None:
        pinned = state.pins.get(symbol)
        return data.live_price(symbol, now) if pinned is None else pinned

    @guarded("binance")
    def ticker_price(request: Request, fault: _Fault | None) -> Response:
        now = time.time()
        one = request.query_params.get("symbol")
        many = request.query_params.get("symbols")
        names = [one] if one else json.loads(many) if many else data.symbols()
        rows = []
        for symbol in names:
            price = pinned_binance(symbol, now)
            if price is None:
                if one or many:
                    return JSONResponse({"code": -1121, "msg": "Invalid symbol."}, status_code=400)
                continue
            rows.append({"symbol": symbol, "price": price_value(price, fault, as_string=True)})
        return raw_json(rows[0] if one else rows)

    @guarded("binance")
    def klines(request: Request, fault: _Fault | None) -> Response:
        q = request.query_params
        symbol, interval = q.get("symbol", ""), q.get("interval", "")
        limit = min(int(q.get("limit", 500)), 1000)
        start = int(q.get("startTime", 0))
        end = int(q.get("endTime", int(time.time() * 1000)))
        rows = data.klines(symbol, interval, start, end, limit)
        if rows is None:
            return JSONResponse({"code": -1121, "msg": "Invalid symbol."}, status_code=400)
        return raw_json(rows)

    @guarded("binance")
    def exchange_info(request: Request, fault: _Fault | None) -> Response:
        return raw_json(data.exchange_info())

    # -- CoinGecko ------------------------------------------------------------------------------

    def pinned_coingecko(coin_id: str, vs: str, now: float) -> Decimal | None:
        pinned = state.pins.get(f"{coin_id}/{vs}")
        return data.coingecko_price(coin_id, vs, now) if pinned is None else pinned

    @guarded("coingecko")
    def simple_price(request: Request, fault: _Fault | None) -> Response:
        now = time.time()
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        vs_list = [v for v in request.query_params.get("vs_currencies", "").split(",") if v]
        stamp = request.query_params.get("include_last_updated_at") == "true"
        body: dict[str, Any] = {}
        for coin_id in ids:
            entry: dict[str, Any] = {}
            for vs in vs_list:
                price = pinned_coingecko(coin_id, vs, now)
                if price is not None:
                    entry[vs] = price_value(price, fault, as_string=False)
            if entry:
                if stamp and not data.replay_dir:
                    entry["last_updated_at"] = int(now)
                body[coin_id] = entry
        return raw_json(body)

    @guarded("coingecko")
    def coins_markets(request: Request, fault: _Fault | None) -> Response:
        now = time.time()
        vs = request.query_params.get("vs_currency", "usd")
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if data.replay_dir:
            rows = [r for r in (data.captured("GetMarkets.json") or []) if not ids or r["id"] in ids]
            return raw_json(rows)
        rows = []
        for coin_id, symbol, name in _COINS:
            price = pinned_coingecko(coin_id, vs, now)
            if price is None or (ids and coin_id not in ids):
                continue
            rows.append({"id": coin_id, "symbol": symbol, "name": name,
                         "current_price": price_value(price, fault, as_string=False),
                         "last_updated": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now))})
        return raw_json(rows)

    @guarded("coingecko")
    def coins_list(request: Request, fault: _Fault | None) -> Response:
        return raw_json(data.coins_list())

    @guarded("coingecko")
    def market_chart_range(request: Request, fault: _Fault | None) -> Response:
        q = request.query_params
        body = data.market_chart(request.path_params["coin_id"], q.get("vs_currency", "usd"),
                                 int(float(q.get("from", 0))), int(float(q.get("to", 0))))
        if body is None:
            return JSONResponse({"error": "coin not found"}, status_code=404)
        return raw_json(body)

    @guarded("coingecko")
    def ping(request: Request, fault: _Fault | None) -> Response:
        return JSONResponse({"gecko_says": "(V3) To the Moon!"})

    # -- control --------------------------------------------------------------------------------

    async def admin_price(request: Request) -> Response:
        try:
            body = await request.json()
            if not isinstance(body, dict) or not isinstance(body.get("pair"), str):
                raise ValueError('{"pair": "BTC/USD", "price": "101000"} expected')
            pair, price = parse_pair(body["pair"]), _pin_price(body.get("price"))
        except (ValueError, SymbolError) as exc:  # json.JSONDecodeError is a ValueError
            return JSONResponse({"error": str(exc)}, status_code=400)
        keys = [pair.base + ("USDT" if pair.quote == "USD" else pair.quote)]
        coin_id = DEFAULT_COINGECKO_IDS.get(pair.base)
        if coin_id:
            keys.append(f"{coin_id}/{pair.vs_currency}")
        with state.lock:
            for key in keys:
                if price is None:
                    state.pins.pop(key, None)
                else:
                    state.pins[key] = price
        return JSONResponse({"pinned": keys, "price": None if price is None else str(price)})

    async def admin_fault(request: Request) -> Response:
        body = await request.json()
        fault = _Fault(kind=body["kind"], times=int(body.get("times", 1)),
                       retry_after=body.get("retry_after"), status=body.get("status"), value=body.get("value"))
        with state.lock:
            state.faults.setdefault(body["service"], []).append(fault)
        return JSONResponse({"ok": True})

    async def admin_reset(request: Request) -> Response:
        with state.lock:
            state.faults.clear()
            state.pins.clear()
            state.requests.clear()
        return JSONResponse({"ok": True})

    async def admin_requests(request: Request) -> Response:
        with state.lock:
            return JSONResponse(list(state.requests))

    routes = [
        Route("/api/v3/ticker/price", ticker_price),
        Route("/api/v3/klines", klines),
        Route("/api/v3/exchangeInfo", exchange_info),
        Route("/api/v3/simple/price", simple_price),
        Route("/api/v3/coins/markets", coins_markets),
        Route("/api/v3/coins/list", coins_list),
        Route("/api/v3/coins/{coin_id}/market_chart/range", market_chart_range),
        Route("/api/v3/ping", ping),
        Route("/_admin/price", admin_price, methods=["POST"]),
        Route("/_admin/fault", admin_fault, methods=["POST"]),
        Route("/_admin/reset", admin_reset, methods=["POST"]),
        Route("/_admin/requests", admin_requests),
    ]
    return Starlette(routes=routes)
