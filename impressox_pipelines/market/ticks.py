"""One rule tick over the latest-price cache: what the sensor (and the daemon-less demo job) run.

The caller keeps `seen` — pair → `(epoch ms, price)` of the last price it evaluated — between ticks
(the sensor keeps it in its cursor); a pair is evaluated only when its cached price is newer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from impressox_pipelines.market.cache import build_observations, read_latest
from impressox_pipelines.market.index import Evaluation, RuleIndex


@dataclass
class TickOutcome:
    evaluation: Evaluation | None  # None when no pair had a newer price
    seen: dict[str, tuple[int, str]]  # the new `seen`: pair → (epoch ms, price as a string)
    fresh_pairs: int


def run_tick(client: Any, seen: Mapping[str, tuple[int, str]], now: datetime | None = None) -> TickOutcome:
    """Evaluate every pair whose cached price is newer than `seen`; returns the outcome and new `seen`."""
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
