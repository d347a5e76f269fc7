"""The rule state machine: crossing semantics, hysteresis, one-shot, cooldown, expiry, percent moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from impressox_pipelines.market.backtest import backtest
from impressox_pipelines.market.rules import Direction, Kind, Rule, RuleError, Status
from impressox_pipelines.market.symbols import parse_pair

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rule(kind=Kind.ABOVE, **overrides) -> Rule:
    values = {"id": "r1", "owner_chat_id": "1001", "pair": parse_pair("BTC/USD"), "kind": kind}
    if kind in (Kind.ABOVE, Kind.BELOW):
        values["threshold"] = Decimal("100")
    else:
        values.update(pct=Decimal("5"), direction=Direction.UP, window_s=3600)
    values.update(overrides)
    return Rule(**values)


def series(*prices, step_s=60):
    """(time, price) observations one `step_s` apart."""
    return [(T0 + timedelta(seconds=i * step_s), Decimal(str(p))) for i, p in enumerate(prices)]


def fired_at(result) -> list[Decimal]:
    return [f.price for f in result.fires]


def test_hovering_at_the_threshold_fires_once():
    result = backtest(rule(recurring=True), series(99, 100.1, 99.9, 100.05, 99.95, 100.2, 99.8, 100.3))
    assert fired_at(result) == [Decimal("100.1")]
    assert result.final_state.status == Status.TRIGGERED


def test_without_hysteresis_every_crossing_fires_again():
    result = backtest(rule(recurring=True, hysteresis_pct=Decimal(0)), series(99, 100.1, 99.9, 100.05))
    assert fired_at(result) == [Decimal("100.1"), Decimal("100.05")]


def test_hysteresis_rearms_after_the_price_retreats_far_enough():
    # 0.5% hysteresis on 100: re-arms at 99.5 or lower, not at 99.6.
    result = backtest(rule(recurring=True), series(99, 101, 99.6, 101, 99.5, 100.5))
    assert fired_at(result) == [Decimal("101"), Decimal("100.5")]
    assert result.events["rearmed"] == 1
    assert [f.seq for f in result.fires] == [1, 2]


def test_a_price_already_beyond_the_line_does_not_fire_until_it_crosses():
    result = backtest(rule(), series(105, 106, 99, 101))
    assert fired_at(result) == [Decimal("101")]


def test_one_shot_disables_after_firing():
    result = backtest(rule(), series(99, 101, 90, 101, 90, 120))
    assert fired_at(result) == [Decimal("101")]
    assert result.final_state.status == Status.DISABLED


def test_cooldown_suppresses_crossings_until_it_ends():
    r = rule(recurring=True, cooldown_s=600, hysteresis_pct=Decimal(0))
    # one observation a minute: crossings at minutes 1, 3, 5, 7 fall inside the 10-minute cooldown
    prices = [99, 101, 99, 101, 99, 101, 99, 101, 99, 99, 99, 99, 101]
    result = backtest(r, series(*prices))
    assert [f.at for f in result.fires] == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=12)]
    assert result.events["rearmed"] == 1  # cooldown over and price back below the line, in one step


def test_below_rules_mirror_above():
    result = backtest(rule(Kind.BELOW, recurring=True), series(101, 99.9, 100.1, 99.8, 100.6, 99))
    assert fired_at(result) == [Decimal("99.9"), Decimal("99")]


def test_expired_and_disabled_rules_never_fire():
    expired = backtest(rule(expires_at=T0 + timedelta(minutes=1, seconds=30)), series(99, 99, 101))
    assert expired.fires == [] and expired.final_state.status == Status.EXPIRED
    off = backtest(rule(enabled=False), series(99, 101))
    assert off.fires == [] and off.final_state.status == Status.DISABLED


@pytest.mark.parametrize("direction, prices, fires", [
    (Direction.UP, [100, 102, 104, 105.1, 106], ["105.1"]),
    (Direction.DOWN, [100, 98, 96, 94.9, 94], ["94.9"]),
    (Direction.EITHER, [100, 97, 94.9, 96, 99.7], ["94.9"]),
    (Direction.UP, [100, 98, 96, 94.9], []),
])
def test_percent_change_within_the_window(direction, prices, fires):
    result = backtest(rule(Kind.PCT_CHANGE, direction=direction), series(*prices))
    assert fired_at(result) == [Decimal(p) for p in fires]


@pytest.mark.parametrize("kind, direction, prices, sign", [
    (Kind.PCT_CHANGE, Direction.DOWN, [100, 98, 94.9], "-"),
    (Kind.PCT_CHANGE, Direction.EITHER, [100, 97, 94.9], "-"),
    (Kind.PCT_CHANGE, Direction.EITHER, [100, 103, 105.1], "+"),
    (Kind.PCT_CHANGE, Direction.UP, [100, 102, 105.1], "+"),
    (Kind.BELOW, None, [101, 99], "-"),
    (Kind.ABOVE, None, [99, 101], "+"),
])
def test_a_fire_reports_its_move_with_its_sign(kind, direction, prices, sign):
    """A fall is a negative change, in the backtest as in the live alert (both come from `rules.step`)."""
    extra = {"direction": direction} if direction else {}
    [fire] = backtest(rule(kind, **extra), series(*prices)).fires
    assert (fire.change_pct < 0) == (sign == "-") and fire.change_pct != 0


def test_percent_change_only_counts_moves_inside_the_window():
    # +6% but over 2 hours: the 1-hour window never sees more than +3%.
    slow = series(100, 103, 106, step_s=3600)
    assert backtest(rule(Kind.PCT_CHANGE), slow).fires == []
    fast = series(100, 103, 106, step_s=1200)
    assert len(backtest(rule(Kind.PCT_CHANGE), fast).fires) == 1


def test_recurring_percent_rule_rearms_when_the_move_shrinks():
    r = rule(Kind.PCT_CHANGE, recurring=True, window_s=120, hysteresis_pct=Decimal(10))
    # window of 2 minutes: +5% fires; the move falls back below 4.5% (re-arm); +5% again fires.
    result = backtest(r, series(100, 105, 105, 105, 106, 111.5))
    assert [f.seq for f in result.fires] == [1, 2]


@pytest.mark.parametrize("overrides, message", [
    ({"threshold": Decimal(0)}, "positive price"),
    ({"threshold": Decimal(-3)}, "positive price"),
    # Decimal takes these; as floats (the index's scores) they are inf and 0.
    ({"threshold": Decimal("1e999999999")}, r"1E\+999999999: a positive price expected for above \(too large"),
    ({"threshold": Decimal("1e-999999999")}, r"1E-999999999: a positive price expected for above \(too small"),
    ({"owner_chat_id": "not-a-chat"}, "owner_chat_id"),
    ({"id": "bad id!"}, "id"),
    ({"id": "nl\n"}, "id"),
    ({"owner_chat_id": "123456789\n"}, "owner_chat_id"),
    ({"cooldown_s": -1}, "cooldown_s"),
    ({"cooldown_s": 10**20}, "cooldown_s 100000000000000000000: between 0 and 31536000 seconds"),
    ({"hysteresis_pct": Decimal(60)}, "hysteresis_pct"),
    ({"hysteresis_pct": Decimal("1e-999999999")}, r"hysteresis_pct 1E-999999999: .* \(too small"),
])
def test_nonsensical_threshold_rules_are_refused(overrides, message):
    with pytest.raises(RuleError, match=message):
        rule(**overrides)


@pytest.mark.parametrize("overrides, message", [
    ({"pct": Decimal(0)}, "positive percentage"),
    ({"pct": Decimal("1e999999999")}, r"positive percentage expected \(too large"),
    ({"pct": Decimal("1e-999999999")}, r"positive percentage expected \(too small"),
    ({"pct": Decimal(100), "direction": Direction.DOWN}, "100%"),
    ({"window_s": 10}, "window_s"),
    ({"direction": None}, "direction"),
])
def test_nonsensical_percent_rules_are_refused(overrides, message):
    with pytest.raises(RuleError, match=message):
        rule(Kind.PCT_CHANGE, **overrides)


def test_the_redis_hash_round_trips():
    original = rule(Kind.PCT_CHANGE, direction=Direction.EITHER, recurring=True, cooldown_s=300,
                    expires_at=T0 + timedelta(days=3), label="ETH 5% in 1h")
    assert Rule.from_fields("r1", original.to_fields()) == original


@pytest.mark.parametrize("fields, message", [
    ({"kind": "sideways"}, "kind"),
    ({"threshold": "lots"}, "not a number"),
    ({"symbol": ""}, "not a pair"),
    ({"recurring": "maybe"}, "recurring"),
    ({"expires_at": "next tuesday"}, "time"),
    ({"threshold": "1e999999999"}, r"threshold 1E\+999999999: .* \(too large"),
    ({"cooldown_s": "99999999999999999999"}, "cooldown_s"),
])
def test_backend_hashes_with_bad_fields_name_the_field(fields, message):
    base = {"owner_chat_id": "1001", "symbol": "BTC", "vs_currency": "usd", "kind": "above", "threshold": "100"}
    with pytest.raises(RuleError, match=message):
        Rule.from_fields("r1", {**base, **fields})


def test_backtest_prints_a_fall_with_a_minus_sign(mongo, redis_resource):
    from bson.decimal128 import Decimal128
    from typer.testing import CliRunner

    from impressox_pipelines.cli import app
    from impressox_pipelines.stores import PRICE_CANDLES_COLLECTION

    candles = mongo.get_database()[PRICE_CANDLES_COLLECTION]
    for at, close in series(100, 99.5, 94.8, 96, 101, step_s=60):
        candles.insert_one({"pair": "BTC/USD", "interval": "1m", "open_time": at, "close": Decimal128(close)})
    runner = CliRunner()
    for args in (["--below", "99.8"], ["--pct", "5", "--direction", "either", "--window", "600"]):
        rule_id = "fall-" + args[0].strip("-")
        assert runner.invoke(app, ["rules", "add", rule_id, "--owner", "1", "--symbol", "BTC", *args]).exit_code == 0
        result = runner.invoke(app, ["rules", "backtest", rule_id, "--start", "2024-01-01", "--end", "2024-01-01"])
        assert result.exit_code == 0, result.output
        [fire] = [line for line in result.output.splitlines() if "fire #" in line]
        assert "(-" in fire and "+" not in fire, fire
