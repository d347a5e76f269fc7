"""The latest-price cache and the recent price history in Redis (written by `price_snapshots`, read by
the rule sensor).

- `impressox:prices:latest` — hash, field = pair (`BTC/USD`), value = JSON
  `{"price": "<decimal string>", "source": "binance"|"coingecko", "at": "<ISO-8601 UTC>", "ms": <epoch ms>}`.
- `impressox:prices:history:<pair>` — sorted set, score = epoch ms, member = `"<ms>|<price>"`; trimmed to
  `HISTORY_KEEP_S`, it gives percent-change rules the low/high of their window.
A pair's latest entry only moves forward in time, so a late answer never replaces a newer price.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from impressox_pipelines.market.prices import PriceQuote, from_epoch_ms, to_epoch_ms
from impressox_pipelines.market.rules import MAX_WINDOW_S, Observation, PriceWindow
from impressox_pipelines.stores import LATEST_PRICES_KEY, PRICE_HISTORY_PREFIX

HISTORY_KEEP_S = 24 * 3600


@dataclass(frozen=True)
class LatestPrice:
    pair: str
    price: Decimal
    source: str
    ms: int

    @property
    def at(self) -> datetime:
        return from_epoch_ms(self.ms)


def write_quotes(client: Any, quotes: Iterable[PriceQuote], keep_s: int = HISTORY_KEEP_S) -> int:
    """Record quotes in the latest cache (only when newer) and the history; returns how many moved the
    latest price forward."""
    quotes = list(quotes)
    if not quotes:
        return 0
    current = read_latest(client, [q.pair for q in quotes])
    pipe = client.pipeline(transaction=False)
    advanced = 0
    for quote in quotes:
        ms = to_epoch_ms(quote.timestamp)
        pipe.zadd(PRICE_HISTORY_PREFIX + quote.pair, {f"{ms}|{quote.price}": ms})
        pipe.zremrangebyscore(PRICE_HISTORY_PREFIX + quote.pair, "-inf", ms - keep_s * 1000)
        known = current.get(quote.pair)
        if known is None or known.ms < ms:
            advanced += 1
            value = {"price": str(quote.price), "source": quote.source, "at": quote.timestamp.isoformat(), "ms": ms}
            pipe.hset(LATEST_PRICES_KEY, quote.pair, json.dumps(value))
    pipe.execute()
    return advanced


def read_latest(client: Any, pairs: Iterable[str] | None = None) -> dict[str, LatestPrice]:
    """The latest price of each pair (all cached pairs when `pairs` is None); unreadable entries are
    left out."""
    if pairs is None:
        raw = client.hgetall(LATEST_PRICES_KEY)
    else:
        names = sorted(set(pairs))
        raw = dict(zip(names, client.hmget(LATEST_PRICES_KEY, names), strict=True)) if names else {}
    result = {}
    for pair, value in raw.items():
        if not value:
            continue
        try:
            data = json.loads(value)
            result[pair] = LatestPrice(pair, Decimal(data["price"]), data["source"], int(data["ms"]))
        except (ValueError, KeyError, TypeError, ArithmeticError):
            continue
    return result


def read_history(client: Any, pair: str, since_ms: int, until_ms: int) -> list[tuple[datetime, Decimal]]:
    """The recorded prices of `pair` with `since_ms <= ms <= until_ms`, oldest first."""
    points = []
    for member in client.zrangebyscore(PRICE_HISTORY_PREFIX + pair, since_ms, until_ms):
        ms, _, price = member.partition("|")
        points.append((from_epoch_ms(int(ms)), Decimal(price)))
    return points


def build_observations(
    client: Any,
    latest: Mapping[str, LatestPrice],
    previous: Mapping[str, Decimal],
    windows: Mapping[str, set[int]],
) -> dict[str, Observation]:
    """One `Observation` per pair in `latest`: its latest price, the previous price the caller saw, and
    the low/high of the history over each window a rule of that pair uses."""
    observations = {}
    for pair, quote in latest.items():
        pair_windows = windows.get(pair) or set()
        extremes = {}
        if pair_windows:
            span = min(max(pair_windows), MAX_WINDOW_S)
            tracker = PriceWindow(keep_s=span)
            for at, price in read_history(client, pair, quote.ms - span * 1000, quote.ms):
                tracker.add(at, price)
            tracker.add(quote.at, quote.price)
            extremes = tracker.extremes(quote.at, pair_windows)
        observations[pair] = Observation(quote.at, quote.price, previous.get(pair), extremes)
    return observations
