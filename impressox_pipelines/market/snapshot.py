"""Price snapshots: the latest price of every watched pair from the first source that has it.

Binance's `/api/v3/ticker/price` prices every market in one request, so it goes first by default;
pairs Binance does not list (or all pairs, when Binance fails) are asked of CoinGecko's `/simple/price`.
A pair neither source priced is reported missing with both reasons: it is never stored as 0.
Stored in MongoDB `price_snapshots`, one document per (pair, source, timestamp).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson.decimal128 import Decimal128
from pymongo import IndexModel, UpdateOne

from impressox_pipelines.market.feed import PriceFeedClient, PriceFeedError, RateLimited
from impressox_pipelines.market.prices import MalformedResponse, PriceQuote, parse_simple_price, parse_ticker_prices
from impressox_pipelines.market.symbols import BinanceMarkets, CoinGeckoIds, Pair, SymbolError

SNAPSHOT_INDEXES = [
    IndexModel([("pair", 1), ("source", 1), ("timestamp", 1)], unique=True, name="pair_source_timestamp"),
    IndexModel([("timestamp", -1)], name="timestamp"),
]
SOURCES = ("binance", "coingecko")


@dataclass
class SourceReport:
    """How one source did in one snapshot; `skipped` says why it gave nothing (rate limit, error)."""

    requested: int = 0
    received: int = 0
    latency_s: float = 0.0
    skipped: str | None = None
    rate_limited: bool = False  # it answered 429/418 (Binance's ban) and gave nothing
    retry_after_s: float | None = None  # its Retry-After then (None when absent or unreadable)


@dataclass
class Snapshot:
    taken_at: datetime
    quotes: dict[str, PriceQuote] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    sources: dict[str, SourceReport] = field(default_factory=dict)


def take_snapshot(
    client: PriceFeedClient,
    pairs: Iterable[Pair],
    ids: CoinGeckoIds,
    *,
    sources: Sequence[str] = SOURCES,
    max_wait_s: float = 60.0,
    binance_markets: BinanceMarkets | Callable[[], BinanceMarkets] | None = None,
) -> Snapshot:
    """Price every pair from the first source in `sources` that has it.

    `max_wait_s` is the longest `Retry-After` worth waiting for (the poll interval): a longer one skips
    that source for this snapshot and the next source is asked. `binance_markets` (Binance's exchange
    info, parsed) saves its request when the caller keeps it between snapshots; a callable is called
    only when Binance is asked, and what it raises skips Binance like a failed request (see
    `market.feed_state.ExchangeInfoCache`).
    """
    snapshot = Snapshot(taken_at=datetime.now(UTC))
    todo = {str(p): p for p in sorted(set(pairs))}
    reasons: dict[str, list[str]] = {name: [] for name in todo}
    for source in sources:
        if not todo:
            break
        report = SourceReport(requested=len(todo))
        snapshot.sources[source] = report
        fetch = _from_binance if source == "binance" else _from_coingecko
        try:
            quotes, missing = fetch(client, todo, ids, report, max_wait_s, binance_markets)
        except (PriceFeedError, MalformedResponse) as exc:
            report.skipped = str(exc)
            report.rate_limited = isinstance(exc, RateLimited)
            report.retry_after_s = exc.retry_after_s if isinstance(exc, RateLimited) else None
            for name in todo:
                reasons[name].append(str(exc))
            continue
        report.received = len(quotes)
        snapshot.quotes.update(quotes)
        for name, why in missing.items():
            reasons[name].append(why)
        todo = {name: pair for name, pair in todo.items() if name not in quotes}
    snapshot.missing = {name: "; ".join(reasons[name]) or "no source asked" for name in todo}
    return snapshot


def _from_binance(client, todo, ids, report, max_wait_s, markets):
    info_latency = 0.0
    if markets is None:
        info = client.exchange_info(max_wait_s=max_wait_s)
        markets, info_latency = BinanceMarkets(info.body), info.latency_s
    elif callable(markets):
        markets = markets()
    wanted, missing = {}, {}
    for name, pair in todo.items():
        try:
            wanted[name] = markets.symbol_for(pair)
        except SymbolError as exc:
            missing[name] = str(exc)
    if not wanted:
        report.latency_s = info_latency
        return {}, missing
    fetched = client.ticker_price(max_wait_s=max_wait_s)
    report.latency_s = info_latency + fetched.latency_s
    parsed = parse_ticker_prices(fetched.body, wanted, fetched.fetched_at)
    return parsed.quotes, {**missing, **parsed.missing}


def _from_coingecko(client, todo, ids, report, max_wait_s, markets):
    latency = 0.0
    if ids.needs_coins_list(p.base for p in todo.values()) and not ids.has_coins_list:
        listed = client.coins_list(max_wait_s=max_wait_s)
        latency += listed.latency_s
        if isinstance(listed.body, list):
            ids.load_coins_list(listed.body)
    wanted, missing = {}, {}
    for name, pair in todo.items():
        try:
            wanted[name] = (ids.resolve(pair.base), pair.vs_currency)
        except SymbolError as exc:
            missing[name] = f"coingecko: {exc}"
    if not wanted:
        report.latency_s = latency
        return {}, missing
    fetched = client.simple_price([i for i, _ in wanted.values()], [vs for _, vs in wanted.values()],
                                  max_wait_s=max_wait_s)
    report.latency_s = latency + fetched.latency_s
    parsed = parse_simple_price(fetched.body, wanted, fetched.fetched_at)
    return parsed.quotes, {**missing, **parsed.missing}


def snapshot_documents(snapshot: Snapshot) -> list[dict[str, Any]]:
    docs = []
    for quote in snapshot.quotes.values():
        base, _, quote_ccy = quote.pair.partition("/")
        docs.append({
            "pair": quote.pair, "symbol": base, "vs_currency": quote_ccy.lower(), "source": quote.source,
            "timestamp": quote.timestamp, "price": Decimal128(quote.price), "snapshot_at": snapshot.taken_at,
        })
    return docs


def store_snapshot(collection: Any, snapshot: Snapshot) -> tuple[int, int]:
    """Append the snapshot's quotes; returns `(inserted, already_stored)`. Idempotent per
    (pair, source, timestamp): a quote stored before is left as it was."""
    docs = snapshot_documents(snapshot)
    if not docs:
        return 0, 0
    ops = [
        UpdateOne({"pair": d["pair"], "source": d["source"], "timestamp": d["timestamp"]},
                  {"$setOnInsert": d}, upsert=True)
        for d in docs
    ]
    result = collection.bulk_write(ops, ordered=False)
    return result.upserted_count, len(docs) - result.upserted_count
