"""The rule index in Redis: matching cost grows with the number of matches, not with the number of rules.

Key layout (documented for the backend in docs/market.md):
- `impressox:rule:<id>` — hash: the definition (`Rule.to_fields`) plus the state (`status`, `seq`,
  `version`, `cooldown_until` ms, `last_fired_at`, `last_fired_price`, `invalid_reason`).
- `impressox:rules:pending` — set of ids written or deleted since the last sync.
- `impressox:rules:index` — hash id → `"<pair>\\t<slot>"` for every active (indexed) rule.
- `impressox:rules:armed:<pair>:<slot>` — sorted set of ARMED rules, score = threshold (above/below) or
  `pct` (pct_change). `<slot>` is `above`, `below` or `pct:<direction>:<window_s>`.
- `impressox:rules:rearm:<pair>:<slot>` — sorted set of TRIGGERED rules, score = the re-arm level.
- `impressox:rules:cooldown` / `impressox:rules:expiry` — sorted sets, score = epoch ms when due.
- `impressox:rules:slots:<pair>` — set of the pct slots used on that pair.
- `impressox:rules:pairs` — hash pair → number of active rules (the watched pairs).
- `impressox:rules:seq` — hash id → last trigger sequence; never deleted, so a re-created rule never
  reuses a run key.

A tick asks each pair's sorted sets for the scores between the previous and the current price (and the
re-arm, cooldown and expiry sets for what became due), loads only those rules, and lets the state
machine (`rules.step`) decide; sorted-set scores are doubles, so ranges are widened by a relative 1e-9
and the exact `Decimal` comparison is the state machine's. Every state change is one Lua script that
checks the expected `status`, `seq` and `version` first, so concurrent ticks and retried runs apply
each transition at most once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import redis

from impressox_pipelines.market.prices import from_epoch_ms, to_epoch_ms
from impressox_pipelines.market.rules import (
    ACTIVE,
    Direction,
    Event,
    Kind,
    Observation,
    Rule,
    RuleError,
    RuleState,
    Status,
    advance_time,
    after_fire,
    pct_signal,
    step,
)
from impressox_pipelines.market.symbols import parse_pair
from impressox_pipelines.stores import RULE_PREFIX

PREFIX = "impressox:rules:"
PENDING = PREFIX + "pending"
INDEX = PREFIX + "index"
SEQ = PREFIX + "seq"
COOLDOWN = PREFIX + "cooldown"
EXPIRY = PREFIX + "expiry"
PAIRS = PREFIX + "pairs"
STATS = PREFIX + "stats"
_REL_EPS = 1e-9

_TRANSITION = """
local cur = redis.call('HMGET', KEYS[1], 'status', 'seq', 'version')
if cur[1] ~= ARGV[2] or cur[2] ~= ARGV[3] or cur[3] ~= ARGV[4] then return 0 end
local id = ARGV[1]
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
local new = ARGV[5]
if new == 'armed' then redis.call('ZADD', KEYS[2], ARGV[7], id)
elseif new == 'triggered' then redis.call('ZADD', KEYS[3], ARGV[7], id)
elseif new == 'cooldown' then redis.call('ZADD', KEYS[4], ARGV[7], id)
else
  redis.call('ZREM', KEYS[5], id)
  if redis.call('HDEL', KEYS[7], id) == 1 then redis.call('HINCRBY', KEYS[6], ARGV[8], -1) end
end
if ARGV[6] ~= ARGV[3] then redis.call('HSET', KEYS[8], id, ARGV[6]) end
redis.call('HSET', KEYS[1], 'status', new, 'seq', ARGV[6], unpack(ARGV, 9))
return 1
"""

# KEYS: sorted sets; ARGV: the rule-hash prefix, the number n of hash fields to read, the n field names,
# then a (min, max) score pair per key. Returns [id, values, ...] for each distinct member found, the n
# values joined by the unit separator (\x1f; a missing field is empty; a missing hash is ''): one
# string per rule is far cheaper to send and decode than n.
# The rule hashes are read by a name built from the member (not declared in KEYS): fine on one Redis
# server, not on a cluster.
_MATCH = """
local n = tonumber(ARGV[2])
local names = {unpack(ARGV, 3, 2 + n)}
local seen, out = {}, {}
for i = 1, #KEYS do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[i], ARGV[1 + n + 2 * i], ARGV[2 + n + 2 * i])) do
    if not seen[id] then
      seen[id] = true
      local values, found = redis.call('HMGET', ARGV[1] .. id, unpack(names)), false
      for j = 1, n do
        if values[j] then found = true else values[j] = '' end
      end
      out[#out + 1] = id
      out[#out + 1] = found and table.concat(values, '\\31') or ''
    end
  end
end
return out
"""
_UNIT_SEPARATOR = "\x1f"
# What a tick reads of each candidate: the definition and the state (not the label or invalid_reason).
MATCH_FIELDS = ("owner_chat_id", "symbol", "vs_currency", "kind", "recurring", "cooldown_s", "hysteresis_pct",
                "enabled", "threshold", "pct", "direction", "window_s", "expires_at", "status", "seq", "version",
                "cooldown_until", "last_fired_at", "last_fired_price")

# KEYS: sets; returns the members of each (one round trip for the pct slots of every ticked pair).
_MEMBERS = """
local out = {}
for i = 1, #KEYS do out[i] = redis.call('SMEMBERS', KEYS[i]) end
return out
"""


def rule_key(rule_id: str) -> str:
    return RULE_PREFIX + rule_id


def slot_of(rule: Rule) -> str:
    if rule.kind == Kind.PCT_CHANGE:
        return f"pct:{rule.direction}:{rule.window_s}"
    return str(rule.kind)


def armed_key(pair: str, slot: str) -> str:
    return f"{PREFIX}armed:{pair}:{slot}"


def rearm_key(pair: str, slot: str) -> str:
    return f"{PREFIX}rearm:{pair}:{slot}"


def slots_key(pair: str) -> str:
    return f"{PREFIX}slots:{pair}"


def armed_score(rule: Rule) -> float:
    return float(rule.pct if rule.kind == Kind.PCT_CHANGE else rule.threshold)


def _lo(value: Decimal | float) -> float:
    f = float(value)
    return f - abs(f) * _REL_EPS - 1e-12


def _hi(value: Decimal | float) -> float:
    f = float(value)
    return f + abs(f) * _REL_EPS + 1e-12


def state_from_fields(fields: Mapping[str, str]) -> RuleState:
    """The state part of a rule hash (defaults for a rule never indexed)."""

    def opt_time(name: str) -> datetime | None:
        raw = fields.get(name) or ""
        return datetime.fromisoformat(raw) if raw else None

    until = fields.get("cooldown_until") or ""
    price = fields.get("last_fired_price") or ""
    try:
        status = Status(fields.get("status") or Status.ARMED)
    except ValueError:
        status = Status.INVALID
    return RuleState(
        status=status,
        seq=int(fields.get("seq") or 0),
        version=int(fields.get("version") or 0),
        cooldown_until=from_epoch_ms(int(until)) if until else None,
        last_fired_at=opt_time("last_fired_at"),
        last_fired_price=Decimal(price) if price else None,
    )


def state_fields(state: RuleState) -> dict[str, str]:
    return {
        "status": str(state.status),
        "seq": str(state.seq),
        "version": str(state.version),
        "cooldown_until": "" if state.cooldown_until is None else str(to_epoch_ms(state.cooldown_until)),
        "last_fired_at": "" if state.last_fired_at is None else state.last_fired_at.isoformat(),
        "last_fired_price": "" if state.last_fired_price is None else str(state.last_fired_price),
    }


@dataclass(frozen=True)
class Trigger:
    """A rule that fired on an observation; the alert run applies it. `seq` is the new sequence."""

    rule_id: str
    seq: int
    version: int
    owner_chat_id: str
    pair: str
    price: Decimal
    previous: Decimal | None
    observed_at: datetime
    change_pct: Decimal | None

    @property
    def run_key(self) -> str:
        """Deterministic: the rule id and its trigger sequence."""
        return f"{self.rule_id}:{self.seq}"

    @property
    def idempotency_key(self) -> str:
        return f"price_alert:{self.rule_id}:{self.seq}"

    def to_config(self) -> dict[str, str]:
        return {
            "rule_id": self.rule_id, "seq": str(self.seq), "version": str(self.version),
            "owner_chat_id": self.owner_chat_id, "pair": self.pair, "price": str(self.price),
            "previous": "" if self.previous is None else str(self.previous),
            "observed_at": self.observed_at.isoformat(),
            "change_pct": "" if self.change_pct is None else str(self.change_pct),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> Trigger:
        return cls(
            rule_id=config["rule_id"], seq=int(config["seq"]), version=int(config["version"]),
            owner_chat_id=config["owner_chat_id"], pair=config["pair"], price=Decimal(config["price"]),
            previous=Decimal(config["previous"]) if config.get("previous") else None,
            observed_at=datetime.fromisoformat(config["observed_at"]),
            change_pct=Decimal(config["change_pct"]) if config.get("change_pct") else None,
        )


@dataclass
class Evaluation:
    """What one tick found: the triggers (not yet applied), the other transitions it applied, how many
    rules it loaded (`candidates`), and how many active rules the ticked pairs have (`in_scope`)."""

    triggers: list[Trigger] = field(default_factory=list)
    transitions: Counter = field(default_factory=Counter)
    candidates: int = 0
    in_scope: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FireOutcome:
    """`applied` (this call moved the state), `already` (an earlier attempt did) or `stale`."""

    status: str
    rule: Rule | None
    state: RuleState | None
    reason: str = ""


class RuleIndex:
    """Rules, their states and the matching index, in one Redis database (decode_responses=True)."""

    def __init__(self, client: Any):
        self.client = client
        self._transition = client.register_script(_TRANSITION)
        self._match = client.register_script(_MATCH)
        self._members = client.register_script(_MEMBERS)

    # -- writing rules --------------------------------------------------------------------------

    def put(self, rule: Rule) -> str:
        """Write a rule's definition and index it now (what the backend does, plus the sync)."""
        pipe = self.client.pipeline()
        pipe.hset(rule_key(rule.id), mapping=rule.to_fields())
        pipe.sadd(PENDING, rule.id)
        pipe.execute()
        return self.sync(rule.id)

    def remove(self, rule_id: str) -> bool:
        """Delete a rule and unindex it; returns whether it existed."""
        existed = bool(self.client.delete(rule_key(rule_id)))
        self.client.sadd(PENDING, rule_id)
        self.sync(rule_id)
        return existed

    def sync_pending(self, limit: int = 10_000, now: datetime | None = None) -> Counter:
        """Index every rule the backend wrote or deleted since the last sync; returns outcome counts."""
        outcomes: Counter = Counter()
        for rule_id in self.client.srandmember(PENDING, limit) or []:
            outcomes[self.sync(rule_id, now)] += 1
        return outcomes

    def sync(self, rule_id: str, now: datetime | None = None) -> str:
        """(Re)index one rule from its hash, atomically (WATCH/MULTI): `indexed`, `removed`, `disabled`,
        `expired` or `invalid`. An edited rule starts again armed; its `seq` keeps counting."""
        key = rule_key(rule_id)
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key, INDEX)
                    fields = pipe.hgetall(key)
                    located = pipe.hget(INDEX, rule_id)
                    last_seq = int(pipe.hget(SEQ, rule_id) or 0)
                    pipe.multi()
                    if located:
                        pair, _, slot = located.partition("\t")
                        pipe.zrem(armed_key(pair, slot), rule_id)
                        pipe.zrem(rearm_key(pair, slot), rule_id)
                        pipe.zrem(COOLDOWN, rule_id)
                        pipe.zrem(EXPIRY, rule_id)
                        pipe.hdel(INDEX, rule_id)
                        pipe.hincrby(PAIRS, pair, -1)
                    pipe.srem(PENDING, rule_id)
                    outcome = self._queue_index(pipe, rule_id, fields, last_seq, now or datetime.now(UTC))
                    pipe.execute()
                    return outcome
                except redis.WatchError:
                    continue

    def _queue_index(self, pipe: Any, rule_id: str, fields: Mapping[str, str], last_seq: int, now: datetime) -> str:
        if not fields:
            return "removed"
        version = int(fields.get("version") or 0) + 1
        seq = max(last_seq, int(fields.get("seq") or 0))
        try:
            rule = Rule.from_fields(rule_id, fields)
        except RuleError as exc:
            pipe.hset(rule_key(rule_id), mapping={"status": Status.INVALID, "invalid_reason": str(exc),
                                                  "version": version, "seq": seq})
            return "invalid"
        state = RuleState(Status.ARMED, seq, version)
        if not rule.enabled:
            state = RuleState(Status.DISABLED, seq, version)
        elif rule.expires_at is not None and rule.expires_at <= now:
            state = RuleState(Status.EXPIRED, seq, version)
        else:
            self._queue_activate(pipe, rule)
        pipe.hset(rule_key(rule_id), mapping={**state_fields(state), "invalid_reason": ""})
        return "indexed" if state.status == Status.ARMED else str(state.status)

    def _queue_activate(self, pipe: Any, rule: Rule) -> None:
        pair, slot = str(rule.pair), slot_of(rule)
        pipe.zadd(armed_key(pair, slot), {rule.id: armed_score(rule)})
        pipe.hset(INDEX, rule.id, f"{pair}\t{slot}")
        pipe.hincrby(PAIRS, pair, 1)
        if rule.kind == Kind.PCT_CHANGE:
            pipe.sadd(slots_key(pair), slot)
        if rule.expires_at is not None:
            pipe.zadd(EXPIRY, {rule.id: to_epoch_ms(rule.expires_at)})

    def load(self, rules: Iterable[Rule], batch: int = 5_000) -> int:
        """Bulk-load new rules, armed, through pipelines (no per-rule round trip); for seeding and
        benchmarks. Rules must not exist yet (use `put` to edit). Returns the number loaded."""
        count = 0
        pipe = self.client.pipeline(transaction=False)
        armed: dict[str, dict[str, float]] = {}
        pairs: Counter = Counter()

        def flush() -> None:
            for key, members in armed.items():
                pipe.zadd(key, members)
            for pair, n in pairs.items():
                pipe.hincrby(PAIRS, pair, n)
            pipe.execute()
            armed.clear()
            pairs.clear()

        now = datetime.now(UTC)
        for rule in rules:
            pair, slot = str(rule.pair), slot_of(rule)
            status = Status.ARMED
            if not rule.enabled:
                status = Status.DISABLED
            elif rule.expires_at is not None and rule.expires_at <= now:
                status = Status.EXPIRED
            state = state_fields(RuleState(status, version=1))
            pipe.hset(rule_key(rule.id), mapping={**rule.to_fields(), **state})
            count += 1
            if status != Status.ARMED:
                continue
            pipe.hset(INDEX, rule.id, f"{pair}\t{slot}")
            armed.setdefault(armed_key(pair, slot), {})[rule.id] = armed_score(rule)
            pairs[pair] += 1
            if rule.kind == Kind.PCT_CHANGE:
                pipe.sadd(slots_key(pair), slot)
            if rule.expires_at is not None:
                pipe.zadd(EXPIRY, {rule.id: to_epoch_ms(rule.expires_at)})
            if count % batch == 0:
                flush()
        flush()
        return count

    # -- reading --------------------------------------------------------------------------------

    def get(self, rule_id: str) -> tuple[Rule | None, RuleState | None, str]:
        """`(rule, state, problem)`: the rule is None when missing (`problem` = "missing") or invalid."""
        fields = self.client.hgetall(rule_key(rule_id))
        if not fields:
            return None, None, "missing"
        state = state_from_fields(fields)
        try:
            return Rule.from_fields(rule_id, fields), state, ""
        except RuleError as exc:
            return None, state, str(exc)

    def rule_ids(self) -> list[str]:
        """Every stored rule id (SCAN; for operators and the naive baseline, not for ticks)."""
        return sorted(k[len(RULE_PREFIX):] for k in self.client.scan_iter(match=RULE_PREFIX + "*", count=10_000))

    def watched_pairs(self) -> dict[str, int]:
        """Pairs with at least one active rule → number of active rules."""
        return {p: int(n) for p, n in self.client.hgetall(PAIRS).items() if int(n) > 0}

    def windows(self, pairs: Iterable[str]) -> dict[str, set[int]]:
        """The pct_change window lengths (seconds) used on each pair."""
        pairs = list(pairs)
        pipe = self.client.pipeline(transaction=False)
        for pair in pairs:
            pipe.smembers(slots_key(pair))
        result = {}
        for pair, slots in zip(pairs, pipe.execute(), strict=True):
            result[pair] = {int(s.rsplit(":", 1)[1]) for s in slots}
        return result

    # -- matching -------------------------------------------------------------------------------

    def query_specs(self, observations: Mapping[str, Observation], now: datetime | None = None
                    ) -> list[tuple[str, str, str]]:
        """`(sorted set, min, max)` for every range whose rules may change state on these observations;
        with `now`, also the cooldowns and expiries due by then."""
        specs = []
        if now is not None:
            now_ms = str(to_epoch_ms(now))
            specs += [(COOLDOWN, "-inf", now_ms), (EXPIRY, "-inf", now_ms)]
        pairs = list(observations)
        slot_sets = self._members(keys=[slots_key(pair) for pair in pairs]) if pairs else []
        for pair, slots in zip(pairs, slot_sets, strict=True):
            obs = observations[pair]
            price, prev = obs.price, obs.previous
            if prev is not None and price > prev:
                specs.append((armed_key(pair, "above"), repr(_lo(prev)), repr(_hi(price))))
            if prev is not None and price < prev:
                specs.append((armed_key(pair, "below"), repr(_lo(price)), repr(_hi(prev))))
            specs.append((rearm_key(pair, "above"), repr(_lo(price)), "+inf"))
            specs.append((rearm_key(pair, "below"), "-inf", repr(_hi(price))))
            for slot in slots:
                _, direction, window = slot.split(":")
                signal = pct_signal(_probe_rule(pair, Direction(direction), int(window)), obs)
                if signal is None:
                    continue
                specs.append((armed_key(pair, slot), "-inf", repr(_hi(signal))))
                specs.append((rearm_key(pair, slot), repr(_lo(signal)), "+inf"))
        return specs

    def candidates(self, observations: Mapping[str, Observation], now: datetime) -> list[tuple[str, dict[str, str]]]:
        """The rules whose state may change on these observations, as `(id, hash fields)`, each once:
        range queries only, every range and every member's hash read by one Lua call."""
        specs = self.query_specs(observations, now)
        args = [RULE_PREFIX, len(MATCH_FIELDS), *MATCH_FIELDS]
        for _, low, high in specs:
            args += (low, high)
        flat = self._match(keys=[key for key, _, _ in specs], args=args)
        found = []
        for i in range(0, len(flat), 2):
            rule_id, packed = flat[i], flat[i + 1]
            if not packed:  # the hash was deleted since it was indexed: no fields, as HGETALL would say
                found.append((rule_id, {}))
                continue
            values = packed.split(_UNIT_SEPARATOR)
            if len(values) != len(MATCH_FIELDS):
                # A value holding the separator itself: read this one rule field by field instead.
                values = self.client.hmget(rule_key(rule_id), MATCH_FIELDS)
            found.append((rule_id, {k: v for k, v in zip(MATCH_FIELDS, values, strict=True) if v}))
        return found

    def evaluate(self, observations: Mapping[str, Observation], now: datetime | None = None) -> Evaluation:
        """One tick: sync pending rules, load the candidates, run the state machine on each; apply the
        re-arm/cooldown/expiry transitions, and return the triggers for the alert runs to apply."""
        now = now or max((o.at for o in observations.values()), default=datetime.now(UTC))
        result = Evaluation()
        if self.client.scard(PENDING):
            synced = self.sync_pending(now=now)
            result.transitions.update({f"synced_{k}": v for k, v in synced.items()})
        counts = self.client.hmget(PAIRS, list(observations)) if observations else []
        result.in_scope = sum(int(n or 0) for n in counts)
        self._apply(self.candidates(observations, now), observations, now, result)
        pipe = self.client.pipeline(transaction=False)
        pipe.hincrby(STATS, "ticks", 1)
        pipe.hincrby(STATS, "rules_evaluated", result.in_scope)
        pipe.hincrby(STATS, "triggers", len(result.triggers))
        pipe.execute()
        return result

    def evaluate_naive(self, observations: Mapping[str, Observation], now: datetime) -> Evaluation:
        """The baseline the index replaces: load every rule and run the state machine on each
        (read-only: transitions are counted, not applied)."""
        result = Evaluation()
        ids = self.rule_ids()
        for start in range(0, len(ids), 5_000):
            part = ids[start:start + 5_000]
            pipe = self.client.pipeline(transaction=False)
            for rule_id in part:
                pipe.hgetall(rule_key(rule_id))
            self._apply(zip(part, pipe.execute(), strict=True), observations, now, result, write=False)
        return result

    def _apply(self, found: Iterable[tuple[str, Mapping[str, str]]], observations: Mapping[str, Observation],
               now: datetime, result: Evaluation, write: bool = True) -> None:
        for rule_id, fields in found:
            result.candidates += 1
            if not fields:
                continue
            state = state_from_fields(fields)
            if state.status not in ACTIVE:
                continue
            try:
                rule = Rule.from_fields(rule_id, fields)
            except RuleError as exc:
                result.problems.append(f"{rule_id}: {exc}")
                continue
            obs = observations.get(str(rule.pair))
            outcome = step(rule, state, obs) if obs is not None else advance_time(rule, state, now)
            if outcome.event == Event.FIRED:
                result.triggers.append(Trigger(
                    rule.id, outcome.state.seq, state.version, rule.owner_chat_id, str(rule.pair),
                    obs.price, obs.previous, obs.at, outcome.change_pct,
                ))
            elif outcome.event != Event.NONE:
                if not write or self.transition(rule, state, outcome.state):
                    result.transitions[str(outcome.event)] += 1

    # -- transitions ----------------------------------------------------------------------------

    def transition(self, rule: Rule, old: RuleState, new: RuleState) -> bool:
        """Move a rule from `old` to `new` in one Lua script; False when its stored status, seq or
        version no longer match `old` (another tick or run got there first)."""
        pair, slot = str(rule.pair), slot_of(rule)
        if new.status == Status.ARMED:
            score = armed_score(rule)
        elif new.status == Status.TRIGGERED:
            score = float(rule.rearm_level)
        elif new.status == Status.COOLDOWN:
            score = to_epoch_ms(new.cooldown_until)
        else:
            score = 0
        extra = {k: v for k, v in state_fields(new).items() if k not in ("status", "seq", "version")}
        flat = [item for kv in extra.items() for item in kv]
        keys = [rule_key(rule.id), armed_key(pair, slot), rearm_key(pair, slot), COOLDOWN, EXPIRY, PAIRS,
                INDEX, SEQ]
        args = [rule.id, str(old.status), str(old.seq), str(old.version), str(new.status), str(new.seq),
                repr(float(score)), pair, *flat]
        return bool(self._transition(keys=keys, args=args))

    def fire(self, trigger: Trigger) -> FireOutcome:
        """Apply a trigger: armed → disabled / cooldown / triggered, exactly once per (rule, seq)."""
        rule, state, problem = self.get(trigger.rule_id)
        if rule is None:
            return FireOutcome("stale", None, state, f"rule {trigger.rule_id} is {problem or 'invalid'}")
        if state.version == trigger.version and state.seq == trigger.seq:
            return FireOutcome("already", rule, state)
        if state.version != trigger.version:
            return FireOutcome("stale", rule, state, "the rule was edited since the tick")
        if state.status != Status.ARMED or state.seq != trigger.seq - 1:
            return FireOutcome("stale", rule, state, f"the rule is {state.status} at seq {state.seq}")
        new = after_fire(rule, state, trigger.observed_at, trigger.price)
        if self.transition(rule, state, new):
            return FireOutcome("applied", rule, new)
        return self.fire(trigger)

    def stats(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.client.hgetall(STATS).items()}


@lru_cache(maxsize=65_536)
def _probe_rule(pair: str, direction: Direction, window_s: int) -> Rule:
    """A stand-in pct rule used only to compute a slot's signal with the state machine's own formula."""
    return Rule(id="probe", owner_chat_id="0", pair=parse_pair(pair), kind=Kind.PCT_CHANGE, pct=Decimal(1),
                direction=direction, window_s=window_s)
