"""Replay a rule over stored candles with the live state machine (`rules.step`), one observation per
candle close, and report when it would have fired."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from impressox_pipelines.market.rules import Event, Observation, PriceWindow, Rule, RuleState, step


@dataclass(frozen=True)
class BacktestFire:
    at: datetime
    price: Decimal
    previous: Decimal | None
    seq: int
    change_pct: Decimal | None


@dataclass
class BacktestResult:
    rule: Rule
    fires: list[BacktestFire] = field(default_factory=list)
    observations: int = 0
    events: Counter = field(default_factory=Counter)
    final_state: RuleState = field(default_factory=RuleState)


def backtest(rule: Rule, closes: Iterable[tuple[datetime, Decimal]], state: RuleState | None = None) -> BacktestResult:
    """Feed `(time, close)` pairs (oldest first) through the state machine, starting armed."""
    state = state or RuleState()
    result = BacktestResult(rule)
    windows = [rule.window_s] if rule.window_s else []
    window = PriceWindow(keep_s=rule.window_s or 60)
    previous: Decimal | None = None
    for at, price in closes:
        window.add(at, price)
        obs = Observation(at, price, previous, window.extremes(at, windows) if windows else {})
        outcome = step(rule, state, obs)
        result.observations += 1
        if outcome.event != Event.NONE:
            result.events[str(outcome.event)] += 1
        if outcome.event == Event.FIRED:
            result.fires.append(BacktestFire(at, price, previous, outcome.state.seq, outcome.change_pct))
        state = outcome.state
        previous = price
    result.final_state = state
    return result
