"""OHLCV candles per pair and day: Binance klines first, CoinGecko's market chart as the fallback.

Stored in MongoDB `price_candles`, unique per (pair, interval, open_time); writing the same candles
again changes nothing. CoinGecko gives price points, not candles (5-minutely for a range of up to one
day, hourly beyond), so fallback candles carry that interval (`5m`/`1h`), never a pretend `1m`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from pymongo import IndexModel, ReplaceOne

from impressox_pipelines.market.feed import PriceFeedClient, PriceFeedError
from impressox_pipelines.market.prices import (
    Candle,
    MalformedResponse,
    candles_from_points,
    parse_klines,
    parse_market_chart,
)
from impressox_pipelines.market.symbols import BinanceMarkets, CoinGeckoIds, Pair, SymbolError

CANDLE_INDEXES = [
    IndexModel([("pair", 1), ("interval", 1), ("open_time", 1)], unique=True, name="pair_interval_open_time"),
    IndexModel([("partition_date", 1)], name="partition_date"),
]
INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
               "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "1d": 86_400_000}


@dataclass
class FetchedCandles:
    """The candles of one pair over one window, where they came from, and what went wrong on the way."""

    pair: str
    interval: str
    candles: list[Candle] = field(default_factory=list)
    source: str | None = None
    notes: list[str] = field(default_factory=list)
    latency_s: float = 0.0
    duplicates_dropped: int = 0


def fetch_candles(
    client: PriceFeedClient,
    pair: Pair,
    start: datetime,
    end: datetime,
    *,
    interval: str,
    markets: BinanceMarkets | None,
    ids: CoinGeckoIds,
    max_wait_s: float = 300.0,
) -> FetchedCandles:
    """Candles with `start <= open_time < end`: Binance klines, else CoinGecko's market chart."""
    result = FetchedCandles(str(pair), interval)
    if markets is not None:
        try:
            symbol = markets.symbol_for(pair)
            rows, latency = client.klines(symbol, interval, start, end, max_wait_s=max_wait_s)
            result.latency_s += latency
            candles, rejected = parse_klines(rows)
            result.notes.extend(f"binance {symbol}: {r}" for r in rejected[:5])
            kept = _dedupe([c for c in candles if start <= c.open_time < end], result)
            if kept:
                result.candles, result.source = kept, "binance"
                return result
            result.notes.append(f"binance {symbol}: no klines in the window")
        except (PriceFeedError, SymbolError, MalformedResponse) as exc:
            result.notes.append(str(exc))
    try:
        coin_id = ids.resolve(pair.base)
        fetched = client.market_chart_range(coin_id, pair.vs_currency, start, end, max_wait_s=max_wait_s)
        result.latency_s += fetched.latency_s
        points, volumes, rejected = parse_market_chart(fetched.body)
        result.notes.extend(f"coingecko {coin_id}: {r}" for r in rejected[:5])
        start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        points = [(ms, p) for ms, p in points if start_ms <= ms < end_ms]
        result.interval = "5m" if end - start <= timedelta(days=1) else "1h"
        candles = candles_from_points(points, INTERVAL_MS[result.interval], volumes)
        if candles:
            result.candles, result.source = candles, "coingecko"
        else:
            result.notes.append(f"coingecko {coin_id}: no prices in the window")
    except (PriceFeedError, SymbolError, MalformedResponse) as exc:
        result.notes.append(f"coingecko: {exc}")
    return result


def _dedupe(candles: list[Candle], result: FetchedCandles) -> list[Candle]:
    by_time: dict[datetime, Candle] = {}
    for candle in candles:
        if candle.open_time in by_time:
            result.duplicates_dropped += 1
        by_time[candle.open_time] = candle
    return [by_time[t] for t in sorted(by_time)]


def candle_documents(fetched: FetchedCandles) -> list[dict[str, Any]]:
    """The MongoDB documents of fetched candles (prices as Decimal128, exact)."""
    return [
        {
            "pair": fetched.pair, "interval": fetched.interval, "open_time": c.open_time,
            "open": Decimal128(c.open), "high": Decimal128(c.high), "low": Decimal128(c.low),
            "close": Decimal128(c.close), "volume": Decimal128(c.volume), "source": fetched.source,
            "partition_date": c.open_time.strftime("%Y-%m-%d"),
        }
        for c in fetched.candles
    ]


def upsert_candles(collection: Any, docs: list[dict[str, Any]]) -> tuple[int, int, int]:
    """Write candles keyed by (pair, interval, open_time); returns `(inserted, changed, unchanged)`."""
    if not docs:
        return 0, 0, 0
    ops = [ReplaceOne({"pair": d["pair"], "interval": d["interval"], "open_time": d["open_time"]}, d, upsert=True)
           for d in docs]
    result = collection.bulk_write(ops, ordered=False)
    unchanged = len(docs) - result.upserted_count - result.modified_count
    return result.upserted_count, result.modified_count, unchanged


def candle_gaps(open_times: Iterable[datetime], interval: str) -> tuple[int, int, list[datetime]]:
    """`(missing, duplicates, first missing open times)` between the first and last candle."""
    step = timedelta(milliseconds=INTERVAL_MS[interval])
    times = sorted(open_times)
    duplicates = len(times) - len(set(times))
    unique = sorted(set(times))
    missing: list[datetime] = []
    count = 0
    for before, after in zip(unique, unique[1:], strict=False):
        gap = int((after - before) / step) - 1
        if gap > 0:
            count += gap
            if len(missing) < 5:
                missing.append(before + step)
    return count, duplicates, missing


def stored_closes(collection: Any, pair: str, interval: str, start: datetime, end: datetime):
    """`(open_time, close)` of stored candles with `start <= open_time < end`, oldest first."""
    cursor = collection.find(
        {"pair": pair, "interval": interval, "open_time": {"$gte": start, "$lt": end}},
        {"open_time": 1, "close": 1, "_id": 0},
    ).sort("open_time", 1)
    for doc in cursor:
        yield doc["open_time"], Decimal(str(doc["close"].to_decimal()))
