"""One rule tick over the latest-price cache: what the sensor (and the daemon-less demo job) run.

The caller keeps `seen` — pair → `(epoch ms, price)` of the last price it evaluated — between ticks
(the sensor keeps it in its cursor); a pair is evaluated only when its cached price is newer.
`stale_watched_pairs` and `refresh_quotes` let the sensor price the pairs of active rules whose cached
price has grown old, so an alert waits for the rule sensor's interval, not for the next `price_snapshots`
run; both honour the rests and the exchange info shared in Redis (`market.feed_state`).

Each function reads the time from its `now` argument (a datetime, or for `refresh_quotes` a callable
returning epoch seconds) and falls back to the real clock, so a caller with a clock of its own (the
sensor's, a test's) decides what "now" is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from impressox_pipelines.market.cache import build_observations, read_latest, write_quotes
from impressox_pipelines.market.feed import PriceFeedClient
from impressox_pipelines.market.feed_state import PoliteSnapshot, take_polite_snapshot
from impressox_pipelines.market.index import Evaluation, RuleIndex
from impressox_pipelines.market.prices import to_epoch_ms
from impressox_pipelines.market.symbols import CoinGeckoIds, parse_pair


@dataclass
class TickOutcome:
    evaluation: Evaluation | None  # None when no pair had a newer price
    seen: dict[str, tuple[int, str]]  # the new `seen`: pair → (epoch ms, price as a string)
    fresh_pairs: int


def run_tick(client: Any, seen: Mapping[str, tuple[int, str]], now: datetime | None = None) -> TickOutcome:
    """Evaluate every pair whose cached price is newer than `seen` at `now` (default: the real time);
    returns the outcome and new `seen`."""
    latest = read_latest(client)
    fresh = {pair: q for pair, q in latest.items() if q.ms > int(seen.get(pair, (-1, ""))[0])}
    new_seen = dict(seen)
    if not fresh:
        return TickOutcome(None, new_seen, 0)
    index = RuleIndex(client)
    previous = {pair: Decimal(seen[pair][1]) for pair in fresh if pair in seen}
    observations = build_observations(client, fresh, previous, index.windows(fresh))
    evaluation = index.evaluate(observations, now or datetime.now(UTC))
    for pair, quote in fresh.items():
        new_seen[pair] = (quote.ms, str(quote.price))
    return TickOutcome(evaluation, new_seen, len(fresh))


def stale_watched_pairs(redis_client: Any, max_age_s: float, now: datetime | None = None) -> list[str]:
    """The pairs an active rule watches whose cached price is missing or older than `max_age_s` seconds at
    `now` (default: the real time)."""
    now_ms = to_epoch_ms(now or datetime.now(UTC))
    watched = RuleIndex(redis_client).watched_pairs()
    cached = read_latest(redis_client, watched)
    return [name for name in sorted(watched) if name not in cached or cached[name].ms < now_ms - max_age_s * 1000]


def refresh_quotes(redis_client: Any, feed: PriceFeedClient, ids: CoinGeckoIds, pairs: list[str],
                   now: Callable[[], float] = time.time) -> PoliteSnapshot:
    """Price `pairs` from the sources not resting and write the quotes to the latest-price cache and its
    history (not to MongoDB: `price_snapshots` keeps the record). A rate limit is never waited for: the
    source is skipped and put to rest for every process (`PoliteSnapshot.rested`); a pair no source
    priced keeps its cached price and is named in the snapshot's `missing`. `now` (epoch seconds) is the
    clock of the rests and the exchange info cache."""
    polite = take_polite_snapshot(redis_client, feed, [parse_pair(name) for name in pairs], ids, max_wait_s=0.0,
                                  now=now)
    write_quotes(redis_client, polite.snapshot.quotes.values())
    return polite
