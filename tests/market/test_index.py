"""The Redis rule index gives the same answers as running the state machine on every rule, while
loading only the rules whose state can change; transitions are atomic and applied once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from impressox_pipelines.market.index import (
    INDEX,
    PAIRS,
    PENDING,
    RuleIndex,
    armed_key,
    rule_key,
)
from impressox_pipelines.market.rules import (
    Direction,
    Event,
    Kind,
    Observation,
    PriceWindow,
    Rule,
    RuleState,
    Status,
    step,
)
from impressox_pipelines.market.symbols import parse_pair

# In the future, so rules expiring minutes after T0 are still live when indexed at wall-clock time.
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
PAIRS_UNDER_TEST = ["BTC/USD", "ETH/USD", "PEPE/USD"]
START = {"BTC/USD": Decimal("65000"), "ETH/USD": Decimal("3200"), "PEPE/USD": Decimal("0.0000085")}


def random_rules(rng: random.Random, count: int) -> list[Rule]:
    rules = []
    for n in range(count):
        name = rng.choice(PAIRS_UNDER_TEST)
        base = START[name]
        kind = rng.choice([Kind.ABOVE, Kind.BELOW, Kind.PCT_CHANGE])
        extra = {}
        if kind == Kind.PCT_CHANGE:
            extra = {"pct": Decimal(rng.choice(["0.5", "1", "2"])), "direction": rng.choice(list(Direction)),
                     "window_s": rng.choice([300, 900])}
        else:
            extra = {"threshold": (base * Decimal(str(rng.uniform(0.97, 1.03)))).quantize(base.scaleb(-6))}
        rules.append(Rule(
            id=f"r{n}", owner_chat_id=str(1000 + n % 7), pair=parse_pair(name), kind=kind,
            recurring=rng.random() < 0.7, cooldown_s=rng.choice([0, 0, 120, 300]),
            hysteresis_pct=Decimal(rng.choice(["0", "0.2", "1"])), enabled=rng.random() < 0.95,
            expires_at=T0 + timedelta(minutes=rng.randint(5, 90)) if rng.random() < 0.1 else None, **extra,
        ))
    return rules


def price_path(rng: random.Random, ticks: int) -> list[dict[str, Decimal]]:
    prices = dict(START)
    path = []
    for _ in range(ticks):
        for name in prices:
            prices[name] = (prices[name] * Decimal(str(1 + rng.gauss(0, 0.004)))).quantize(START[name].scaleb(-6))
        path.append(dict(prices))
    return path


def observations(path, windows=(300, 900)):
    trackers = {name: PriceWindow(keep_s=max(windows)) for name in PAIRS_UNDER_TEST}
    previous: dict[str, Decimal] = {}
    for i, prices in enumerate(path):
        at = T0 + timedelta(minutes=i)
        ticked = {}
        for name, price in prices.items():
            trackers[name].add(at, price)
            ticked[name] = Observation(at, price, previous.get(name), trackers[name].extremes(at, windows))
            previous[name] = price
        yield at, ticked


def test_index_matching_equals_the_state_machine_on_every_rule(redis_resource):
    rng = random.Random(20240301)
    rules = random_rules(rng, 600)
    path = price_path(rng, 90)
    client = redis_resource.get_client()
    index = RuleIndex(client)
    for r in rules[:300]:
        index.put(r)
    index.load(rules[300:])

    # The oracle: every rule stepped on every observation of its pair, firing applied at once.
    oracle = {r.id: RuleState() if r.enabled else RuleState(Status.DISABLED) for r in rules}
    oracle_fires, index_fires = set(), set()
    loaded = 0
    for i, (at, ticked) in enumerate(observations(path)):
        for r in rules:
            outcome = step(r, oracle[r.id], ticked[str(r.pair)])
            if outcome.event == Event.FIRED:
                oracle_fires.add((r.id, outcome.state.seq, i))
            oracle[r.id] = outcome.state
        evaluation = index.evaluate(ticked, now=at)
        loaded += evaluation.candidates
        for trigger in evaluation.triggers:
            assert index.fire(trigger).status == "applied"
            index_fires.add((trigger.rule_id, trigger.seq, i))

    assert len(oracle_fires) > 50  # the path really crosses many rules
    assert index_fires == oracle_fires
    for r in rules:
        _, state, _ = index.get(r.id)
        assert (state.status, state.seq) == (oracle[r.id].status, oracle[r.id].seq), r.id
    # Only rules whose state could change were loaded, not every rule on every tick.
    assert loaded < len(rules) * len(path) / 10


def test_a_tick_loads_only_the_rules_between_the_two_prices(redis_resource):
    index = RuleIndex(redis_resource.get_client())
    pair = parse_pair("BTC/USD")
    index.load(Rule(id=f"far{n}", owner_chat_id="1", pair=pair, kind=Kind.ABOVE, threshold=Decimal(70000 + n))
               for n in range(5000))
    index.put(Rule(id="near", owner_chat_id="1", pair=pair, kind=Kind.ABOVE, threshold=Decimal("65010.5")))
    ticked = {"BTC/USD": Observation(T0, Decimal("65020"), Decimal("65000"))}
    evaluation = index.evaluate(ticked, now=T0)
    assert [t.rule_id for t in evaluation.triggers] == ["near"]
    assert evaluation.candidates == 1
    assert evaluation.in_scope == 5001


def test_a_trigger_is_applied_once_and_a_stale_one_not_at_all(redis_resource):
    client = redis_resource.get_client()
    index = RuleIndex(client)
    r = Rule(id="once", owner_chat_id="7", pair=parse_pair("ETH/USD"), kind=Kind.BELOW, threshold=Decimal(3000))
    index.put(r)
    ticked = {"ETH/USD": Observation(T0, Decimal("2999.99"), Decimal("3000.01"))}
    [trigger] = index.evaluate(ticked, now=T0).triggers
    again = index.evaluate(ticked, now=T0).triggers  # a repeated tick finds the same trigger
    assert [t.run_key for t in again] == [trigger.run_key] == ["once:1"]
    assert index.fire(trigger).status == "applied"
    assert index.fire(trigger).status == "already"
    _, state, _ = index.get("once")
    assert (state.status, state.seq) == (Status.DISABLED, 1)
    assert client.zscore(armed_key("ETH/USD", "below"), "once") is None
    assert client.hget(PAIRS, "ETH/USD") == "0"

    index.put(r)  # edited: armed again, new version, seq keeps counting
    [fresh] = index.evaluate(ticked, now=T0).triggers
    assert fresh.run_key == "once:2"
    index.put(r)  # edited again before the run: the trigger is stale
    outcome = index.fire(fresh)
    assert outcome.status == "stale" and "edited" in outcome.reason


def test_a_recreated_rule_never_reuses_a_run_key(redis_resource):
    index = RuleIndex(redis_resource.get_client())
    r = Rule(id="again", owner_chat_id="7", pair=parse_pair("BTC/USD"), kind=Kind.ABOVE, threshold=Decimal(10))
    ticked = {"BTC/USD": Observation(T0, Decimal(11), Decimal(9))}
    index.put(r)
    [first] = index.evaluate(ticked, now=T0).triggers
    index.fire(first)
    index.remove("again")
    index.put(r)
    [second] = index.evaluate(ticked, now=T0).triggers
    assert (first.run_key, second.run_key) == ("again:1", "again:2")


def test_the_backend_writes_rules_as_documented(redis_resource):
    """docs/market.md: HSET the rule hash, SADD its id to the pending set; the next tick indexes it."""
    client = redis_resource.get_client()
    client.hset(rule_key("b1"), mapping={"owner_chat_id": "555", "symbol": "sol", "vs_currency": "usd",
                                         "kind": "above", "threshold": "150.5", "recurring": "1"})
    client.hset(rule_key("b2"), mapping={"owner_chat_id": "555", "symbol": "sol", "kind": "above",
                                         "threshold": "-4"})
    client.sadd(PENDING, "b1", "b2")
    index = RuleIndex(client)
    index.evaluate({}, now=T0)
    assert client.zscore(armed_key("SOL/USD", "above"), "b1") == 150.5
    assert client.hget(rule_key("b2"), "status") == "invalid"
    assert "threshold" in client.hget(rule_key("b2"), "invalid_reason")
    assert index.watched_pairs() == {"SOL/USD": 1}
    client.delete(rule_key("b1"))
    client.sadd(PENDING, "b1")
    index.evaluate({}, now=T0)
    assert client.hget(INDEX, "b1") is None and index.watched_pairs() == {}


@pytest.mark.parametrize("kind, extra", [
    (Kind.ABOVE, {"threshold": Decimal("0.00000001")}),
    (Kind.PCT_CHANGE, {"pct": Decimal("1.5"), "direction": Direction.DOWN, "window_s": 600}),
])
def test_bulk_load_writes_what_put_writes(redis_resource, kind, extra):
    client = redis_resource.get_client()
    index = RuleIndex(client)
    index.put(Rule(id="p", owner_chat_id="1", pair=parse_pair("PEPE/USD"), kind=kind, **extra))
    index.load([Rule(id="l", owner_chat_id="1", pair=parse_pair("PEPE/USD"), kind=kind, **extra)])
    put, loaded = client.hgetall(rule_key("p")), client.hgetall(rule_key("l"))
    assert {k: v for k, v in put.items() if k != "invalid_reason"} == loaded
    assert client.hget(INDEX, "p") == client.hget(INDEX, "l")


def test_hashes_changed_behind_the_index_are_read_as_they_are(redis_resource):
    """A tick reads each candidate's fields in one packed string: a deleted hash reads as no rule, and a
    value holding the separator itself is read field by field and refused with its reason, while the
    other rules of the tick still fire."""
    client = redis_resource.get_client()
    index = RuleIndex(client)
    for rule_id in ("kept", "deleted", "garbled"):
        index.put(Rule(id=rule_id, owner_chat_id="9", pair=parse_pair("BTC/USD"), kind=Kind.ABOVE,
                       threshold=Decimal(100)))
    client.delete(rule_key("deleted"))  # not through the pending set: still indexed
    client.hset(rule_key("garbled"), "owner_chat_id", "9\x1f10")
    evaluation = index.evaluate({"BTC/USD": Observation(T0, Decimal(101), Decimal(99))}, now=T0)
    assert [t.rule_id for t in evaluation.triggers] == ["kept"]
    assert evaluation.candidates == 3
    [problem] = evaluation.problems
    assert problem.startswith("garbled: owner_chat_id '9\\x1f10'")
