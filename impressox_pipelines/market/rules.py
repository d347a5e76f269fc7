"""Price rules and the one state machine that decides when they fire (live, in the sensor, and in the
backtest).

Kinds:
- `above` / `below` a `threshold`: fires when the price CROSSES the line between two observations
  (`previous < threshold <= price` for above, `previous > threshold >= price` for below), never on every
  observation while it stays beyond it.
- `pct_change` by `pct` percent within `window_s` seconds, `direction` `up` (price vs the window's low),
  `down` (vs the window's high) or `either`: fires when the move reaches `pct`.

Lifecycle (`status`):
    armed ──fire──▶ disabled            one-shot rules (`recurring = False`)
    armed ──fire──▶ cooldown ─(cooldown_s elapsed)─▶ triggered      recurring with a cooldown
    armed ──fire──▶ triggered ─(hysteresis re-arm)─▶ armed          recurring
    any active ──(expires_at reached)──▶ expired;  enabled = False ──▶ disabled
Re-arming needs the price to retreat back across the line by `hysteresis_pct` percent of the threshold
(`price <= threshold × (1 − h/100)` for above, `>= threshold × (1 + h/100)` for below); a `pct_change`
rule re-arms when the move falls below `pct × (1 − h/100)`. So a price hovering at the line fires once.

All prices are `Decimal`; times are aware UTC datetimes; `seq` counts the times a rule fired.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from impressox_pipelines.market.symbols import Pair, SymbolError, parse_pair

HUNDRED = Decimal(100)
DEFAULT_HYSTERESIS_PCT = Decimal("0.5")
MAX_WINDOW_S = 30 * 24 * 3600
MAX_COOLDOWN_S = 365 * 24 * 3600
# \Z, not $: `$` also matches before a trailing newline, which would let "id\n" through.
_RULE_ID = re.compile(r"\A[A-Za-z0-9_.:-]{1,64}\Z")
_CHAT_ID = re.compile(r"\A(-?\d{1,20}|@[A-Za-z0-9_]{5,32})\Z")


class RuleError(ValueError):
    """A rule definition that cannot be evaluated (the message says which field and why)."""


class Kind(StrEnum):
    ABOVE = "above"
    BELOW = "below"
    PCT_CHANGE = "pct_change"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    EITHER = "either"


class Status(StrEnum):
    ARMED = "armed"
    TRIGGERED = "triggered"
    COOLDOWN = "cooldown"
    DISABLED = "disabled"
    EXPIRED = "expired"
    INVALID = "invalid"


ACTIVE = frozenset({Status.ARMED, Status.TRIGGERED, Status.COOLDOWN})


@dataclass(frozen=True)
class Rule:
    """A user's price rule. `owner_chat_id` is the Telegram chat that receives the alert."""

    id: str
    owner_chat_id: str
    pair: Pair
    kind: Kind
    threshold: Decimal | None = None
    pct: Decimal | None = None
    direction: Direction | None = None
    window_s: int | None = None
    recurring: bool = False
    cooldown_s: int = 0
    hysteresis_pct: Decimal = DEFAULT_HYSTERESIS_PCT
    expires_at: datetime | None = None
    enabled: bool = True
    label: str = ""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raises RuleError for nonsensical definitions (bad ids, non-positive thresholds, …)."""
        if not _RULE_ID.match(self.id):
            raise RuleError(f"id {self.id!r}: 1–64 letters, digits or _.:- expected")
        if not _CHAT_ID.match(self.owner_chat_id):
            raise RuleError(f"owner_chat_id {self.owner_chat_id!r}: a numeric chat id or @channel expected")
        if self.kind in (Kind.ABOVE, Kind.BELOW):
            if self.threshold is None or not self.threshold.is_finite() or self.threshold <= 0:
                raise RuleError(f"threshold {self.threshold}: a positive price expected for {self.kind}")
            if why := float_range_problem(self.threshold):
                raise RuleError(f"threshold {self.threshold}: a positive price expected for {self.kind} ({why})")
        else:
            if self.pct is None or not self.pct.is_finite() or self.pct <= 0:
                raise RuleError(f"pct {self.pct}: a positive percentage expected")
            if why := float_range_problem(self.pct):
                raise RuleError(f"pct {self.pct}: a positive percentage expected ({why})")
            if self.direction == Direction.DOWN and self.pct >= HUNDRED:
                raise RuleError(f"pct {self.pct}: a price cannot fall by 100% or more")
            if self.direction is None:
                raise RuleError("direction: up, down or either expected for pct_change")
            if self.window_s is None or not 60 <= self.window_s <= MAX_WINDOW_S:
                raise RuleError(f"window_s {self.window_s}: between 60 and {MAX_WINDOW_S} seconds expected")
        if not 0 <= self.cooldown_s <= MAX_COOLDOWN_S:
            raise RuleError(f"cooldown_s {self.cooldown_s}: between 0 and {MAX_COOLDOWN_S} seconds expected")
        if not self.hysteresis_pct.is_finite() or not Decimal(0) <= self.hysteresis_pct < 50:
            raise RuleError(f"hysteresis_pct {self.hysteresis_pct}: between 0 and 50 expected")
        if why := float_range_problem(self.hysteresis_pct):
            raise RuleError(f"hysteresis_pct {self.hysteresis_pct}: between 0 and 50 expected ({why})")

    @property
    def rearm_level(self) -> Decimal:
        """The price (threshold kinds) or move in percent (pct_change) at which a triggered rule re-arms."""
        h = self.hysteresis_pct / HUNDRED
        if self.kind == Kind.ABOVE:
            return self.threshold * (1 - h)
        if self.kind == Kind.BELOW:
            return self.threshold * (1 + h)
        return self.pct * (1 - h)

    def describe(self) -> str:
        if self.kind == Kind.PCT_CHANGE:
            what = f"moves {self.direction} {self.pct}% within {self.window_s}s"
        else:
            what = f"crosses {self.kind} {self.threshold}"
        mode = "recurring" if self.recurring else "one-shot"
        return f"{self.pair} {what} ({mode})"

    # -- the Redis hash format (docs/market.md) -------------------------------------------------

    def to_fields(self) -> dict[str, str]:
        """The rule as the string fields of its Redis hash."""
        fields = {
            "owner_chat_id": self.owner_chat_id,
            "symbol": self.pair.base,
            "vs_currency": self.pair.vs_currency,
            "kind": str(self.kind),
            "recurring": "1" if self.recurring else "0",
            "cooldown_s": str(self.cooldown_s),
            "hysteresis_pct": str(self.hysteresis_pct),
            "enabled": "1" if self.enabled else "0",
            "label": self.label,
            "threshold": "" if self.threshold is None else str(self.threshold),
            "pct": "" if self.pct is None else str(self.pct),
            "direction": "" if self.direction is None else str(self.direction),
            "window_s": "" if self.window_s is None else str(self.window_s),
            "expires_at": "" if self.expires_at is None else self.expires_at.isoformat(),
        }
        return fields

    @classmethod
    def from_fields(cls, rule_id: str, fields: Mapping[str, str]) -> Rule:
        """Parse a rule hash written by the backend or the CLI.

        Raises:
            RuleError: naming the first field that is missing or invalid.
        """

        # Strip every value once: a tick parses about a thousand rules.
        values = {name: str(value).strip() for name, value in fields.items() if value is not None}

        def text(name: str, default: str = "") -> str:
            return values.get(name) or default

        def decimal(name: str) -> Decimal | None:
            raw = values.get(name)
            if not raw:
                return None
            try:
                return Decimal(raw)
            except InvalidOperation:
                raise RuleError(f"{name} {raw[:40]!r}: not a number") from None

        def integer(name: str, default: int | None) -> int | None:
            raw = values.get(name)
            if not raw:
                return default
            try:
                return int(raw)
            except ValueError:
                raise RuleError(f"{name} {raw[:40]!r}: not an integer") from None

        def flag(name: str, default: bool) -> bool:
            raw = values.get(name, "").lower()
            if not raw:
                return default
            if raw in ("1", "true", "yes"):
                return True
            if raw in ("0", "false", "no"):
                return False
            raise RuleError(f"{name} {raw[:20]!r}: 1 or 0 expected")

        try:
            kind = Kind(text("kind"))
        except ValueError:
            raise RuleError(f"kind {text('kind')[:40]!r}: above, below or pct_change expected") from None
        try:
            pair = parse_pair(text("symbol"), default_quote=text("vs_currency", "usd"))
        except SymbolError as exc:
            raise RuleError(str(exc)) from None
        direction = None
        if text("direction"):
            try:
                direction = Direction(text("direction"))
            except ValueError:
                raise RuleError(f"direction {text('direction')[:20]!r}: up, down or either expected") from None
        expires_at = None
        if text("expires_at"):
            expires_at = parse_time(text("expires_at"))
        hysteresis = decimal("hysteresis_pct")
        return cls(
            id=rule_id,
            owner_chat_id=text("owner_chat_id"),
            pair=pair,
            kind=kind,
            threshold=decimal("threshold"),
            pct=decimal("pct"),
            direction=direction if kind == Kind.PCT_CHANGE else None,
            window_s=integer("window_s", None) if kind == Kind.PCT_CHANGE else None,
            recurring=flag("recurring", False),
            cooldown_s=integer("cooldown_s", 0) or 0,
            hysteresis_pct=DEFAULT_HYSTERESIS_PCT if hysteresis is None else hysteresis,
            expires_at=expires_at,
            enabled=flag("enabled", True),
            label=text("label")[:200],
        )


def float_range_problem(value: Decimal) -> str:
    """Why a finite, non-zero `value` is no number a rule can hold, or '' when it is one.

    Decimal itself takes `1E+999999999` and `1E-999999999`, but the index scores rules by the float of
    their threshold or percentage (inf, or 0) and the re-arm arithmetic overflows the decimal context, so a
    rule's numbers must stay finite and non-zero as floats.
    """
    if value == 0:
        return ""
    as_float = float(value)
    if math.isinf(as_float):
        return "too large: it overflows to infinity"
    return "too small: it rounds to 0" if as_float == 0 else ""


def parse_time(raw: str) -> datetime:
    """ISO-8601 (a naive time is UTC) or epoch seconds.

    Raises:
        RuleError: when it is neither.
    """
    try:
        if re.fullmatch(r"\d{9,11}(\.\d+)?", raw):
            return datetime.fromtimestamp(float(raw), tz=UTC)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise RuleError(f"time {raw[:40]!r}: ISO-8601 or epoch seconds expected") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RuleState:
    """Where a rule is in its lifecycle. `version` changes whenever the definition is (re)indexed."""

    status: Status = Status.ARMED
    seq: int = 0
    version: int = 0
    cooldown_until: datetime | None = None
    last_fired_at: datetime | None = None
    last_fired_price: Decimal | None = None


@dataclass(frozen=True)
class Observation:
    """One price of the rule's pair at `at`, the previous price seen (None at the first), and the
    low/high of recent prices per window length in seconds (the current price included)."""

    at: datetime
    price: Decimal
    previous: Decimal | None
    windows: Mapping[int, tuple[Decimal, Decimal]] = field(default_factory=dict)


class Event(StrEnum):
    NONE = "none"
    FIRED = "fired"
    REARMED = "rearmed"
    COOLDOWN_ENDED = "cooldown_ended"
    EXPIRED = "expired"
    DISABLED = "disabled"


@dataclass(frozen=True)
class Step:
    """The outcome of one observation: the new state, what happened, and (when fired) the move in %."""

    state: RuleState
    event: Event
    change_pct: Decimal | None = None


def pct_moves(rule: Rule, obs: Observation) -> tuple[Decimal, Decimal] | None:
    """`(up, down)` in percent: the price vs the window's low, and the window's high vs the price."""
    low_high = obs.windows.get(rule.window_s or 0)
    if low_high is None:
        return None
    low, high = low_high
    return (obs.price - low) / low * HUNDRED, (high - obs.price) / high * HUNDRED


def pct_signal(rule: Rule, obs: Observation) -> Decimal | None:
    """The move a pct_change rule compares with its `pct`, given its direction."""
    moves = pct_moves(rule, obs)
    if moves is None:
        return None
    up, down = moves
    return {Direction.UP: up, Direction.DOWN: down, Direction.EITHER: max(up, down)}[rule.direction]


def signed_move(rule: Rule, obs: Observation) -> Decimal | None:
    """The move a pct_change rule reacts to, in percent with its sign: positive for a rise from the
    window's low, negative for a fall from its high (`pct_signal` is its size)."""
    moves = pct_moves(rule, obs)
    if moves is None:
        return None
    up, down = moves
    rising = rule.direction == Direction.UP or (rule.direction == Direction.EITHER and up >= down)
    return up if rising else -down


def fires(rule: Rule, obs: Observation) -> tuple[bool, Decimal | None]:
    """Whether an ARMED rule fires on this observation, and the move in percent, signed (a fall is
    negative): against the previous price for a crossing, against the window's extreme for a pct rule."""
    if rule.kind == Kind.ABOVE:
        hit = obs.previous is not None and obs.previous < rule.threshold <= obs.price
    elif rule.kind == Kind.BELOW:
        hit = obs.previous is not None and obs.previous > rule.threshold >= obs.price
    else:
        signal = pct_signal(rule, obs)
        return (signal is not None and signal >= rule.pct), signed_move(rule, obs)
    change = None if obs.previous is None else (obs.price - obs.previous) / obs.previous * HUNDRED
    return hit, change


def rearms(rule: Rule, obs: Observation) -> bool:
    """Whether a TRIGGERED rule re-arms on this observation (the hysteresis condition)."""
    if rule.kind == Kind.ABOVE:
        return obs.price <= rule.rearm_level
    if rule.kind == Kind.BELOW:
        return obs.price >= rule.rearm_level
    signal = pct_signal(rule, obs)
    return signal is not None and signal < rule.rearm_level


def after_fire(rule: Rule, state: RuleState, at: datetime, price: Decimal) -> RuleState:
    """The state right after firing: disabled (one-shot), cooldown (with `cooldown_s`) or triggered."""
    if not rule.recurring:
        status, until = Status.DISABLED, None
    elif rule.cooldown_s > 0:
        status, until = Status.COOLDOWN, at + timedelta(seconds=rule.cooldown_s)
    else:
        status, until = Status.TRIGGERED, None
    return replace(state, status=status, seq=state.seq + 1, cooldown_until=until, last_fired_at=at,
                   last_fired_price=price)


def advance_time(rule: Rule, state: RuleState, now: datetime) -> Step:
    """The time-driven transitions: disabled by its owner, expiry, and the end of a cooldown."""
    if state.status not in ACTIVE:
        return Step(state, Event.NONE)
    if not rule.enabled:
        return Step(replace(state, status=Status.DISABLED), Event.DISABLED)
    if rule.expires_at is not None and now >= rule.expires_at:
        return Step(replace(state, status=Status.EXPIRED), Event.EXPIRED)
    if state.status == Status.COOLDOWN and state.cooldown_until is not None and now >= state.cooldown_until:
        return Step(replace(state, status=Status.TRIGGERED, cooldown_until=None), Event.COOLDOWN_ENDED)
    return Step(state, Event.NONE)


def step(rule: Rule, state: RuleState, obs: Observation) -> Step:
    """Apply one observation of the rule's pair: time transitions first, then re-arm or fire."""
    timed = advance_time(rule, state, obs.at)
    state = timed.state
    if state.status == Status.TRIGGERED:
        if rearms(rule, obs):
            return Step(replace(state, status=Status.ARMED), Event.REARMED)
        return timed
    if state.status == Status.ARMED:
        hit, change = fires(rule, obs)
        if hit:
            return Step(after_fire(rule, state, obs.at, obs.price), Event.FIRED, change)
    return timed


class PriceWindow:
    """Recent `(at, price)` points of one pair, for the low/high over each rule's window.

    The live path feeds it from the Redis price history, the backtest from candle closes, so both give
    the state machine the same observations.
    """

    def __init__(self, keep_s: int = MAX_WINDOW_S):
        self.keep = timedelta(seconds=keep_s)
        self.points: deque[tuple[datetime, Decimal]] = deque()

    def add(self, at: datetime, price: Decimal) -> None:
        self.points.append((at, price))
        while self.points and self.points[0][0] < at - self.keep:
            self.points.popleft()

    def extremes(self, now: datetime, windows: Iterable[int]) -> dict[int, tuple[Decimal, Decimal]]:
        result = {}
        for window_s in set(windows):
            since = now - timedelta(seconds=window_s)
            prices = [p for at, p in self.points if since <= at <= now]
            if prices:
                result[window_s] = (min(prices), max(prices))
        return result
