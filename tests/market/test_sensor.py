"""`price_rule_sensor`: deterministic run keys, a cursor that carries the last evaluated prices across
restarts, and `price_alert_job` runs that move the rule, store the alert and enqueue it exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg

from impressox_pipelines.assets.market import market_summary, price_rules_demo_job, price_snapshots
from impressox_pipelines.events import NOTIFICATIONS_STREAM
from impressox_pipelines.market.alerts import ALERTS_COLLECTION
from impressox_pipelines.market.cache import write_quotes
from impressox_pipelines.market.index import RuleIndex
from impressox_pipelines.market.prices import PriceQuote
from impressox_pipelines.market.rules import Kind, Rule, Status
from impressox_pipelines.market.symbols import parse_pair
from impressox_pipelines.sensors.price_rules import build_price_rule_sensor, price_alert_job

sensor = build_price_rule_sensor(30)
T0 = datetime.now(UTC).replace(microsecond=0)


def tick(redis_resource, cursor, instance=None):
    with dg.build_sensor_context(cursor=cursor, resources={"redis": redis_resource}, instance=instance) as context:
        return sensor(context)


def quote(price: str, seconds: int, pair: str = "BTC/USD") -> PriceQuote:
    return PriceQuote(pair, Decimal(price), "binance", T0 + timedelta(seconds=seconds))


def test_run_keys_are_deterministic_and_the_cursor_prevents_refiring(redis_resource, mongo):
    client = redis_resource.get_client()
    RuleIndex(client).put(Rule(id="btc100k", owner_chat_id="1001", pair=parse_pair("BTC/USD"), kind=Kind.ABOVE,
                               threshold=Decimal("100000"), label="BTC 100k"))
    write_quotes(client, [quote("99950.5", 0)])
    first = tick(redis_resource, None)
    assert first.run_requests == [] and "no rule triggered" in first.skip_reason.skip_message
    assert json.loads(first.cursor)["prices"]["BTC/USD"][1] == "99950.5"

    write_quotes(client, [quote("100000.01", 60)])
    second = tick(redis_resource, first.cursor)
    [request] = second.run_requests
    assert request.run_key == "btc100k:1"
    repeated = tick(redis_resource, first.cursor)  # the cursor was not saved: the same tick again
    assert [r.run_key for r in repeated.run_requests] == ["btc100k:1"]
    assert tick(redis_resource, second.cursor).skip_reason.skip_message == "no price newer than the last tick"

    resources = {"redis": redis_resource, "mongo": mongo}
    for _ in range(2):  # a retried run applies nothing twice
        result = price_alert_job.execute_in_process(run_config=request.run_config, resources=resources)
        assert result.success
    outcomes = [price_alert_job.execute_in_process(run_config=request.run_config, resources=resources)
                .output_for_node("fire_price_alert")]
    assert outcomes == ["already"]
    [alert] = list(mongo.get_database()[ALERTS_COLLECTION].find())
    assert alert["_id"] == "price_alert:btc100k:1" and alert["owner_chat_id"] == "1001"
    [(_, entry)] = client.xrange(NOTIFICATIONS_STREAM)
    assert (entry["kind"], entry["chat_id"], entry["idempotency_key"]) == ("price_alert", "1001", alert["_id"])
    payload = json.loads(entry["payload"])
    assert payload["price"] == "100000.01" and payload["text"].startswith("BTC/USD crossed above 100000")
    _, state, _ = RuleIndex(client).get("btc100k")
    assert (state.status, state.seq) == (Status.DISABLED, 1)


def test_the_cursor_survives_a_restart_of_the_daemon(redis_resource, mongo):
    """A recurring rule fired at 100.5; the daemon restarts with the stored cursor; the price stays
    above the line: no new trigger. Without a cursor the first tick only records prices."""
    client = redis_resource.get_client()
    index = RuleIndex(client)
    index.put(Rule(id="eth", owner_chat_id="7", pair=parse_pair("ETH/USD"), kind=Kind.ABOVE,
                   threshold=Decimal(100), recurring=True, hysteresis_pct=Decimal(0)))
    with dg.instance_for_test() as instance:
        write_quotes(client, [quote("99", 0, "ETH/USD")])
        cursor = tick(redis_resource, None, instance).cursor
        write_quotes(client, [quote("100.5", 60, "ETH/USD")])
        fired = tick(redis_resource, cursor, instance)
        [trigger_request] = fired.run_requests
        price_alert_job.execute_in_process(run_config=trigger_request.run_config,
                                           resources={"redis": redis_resource, "mongo": mongo})
        saved = fired.cursor  # what Dagster stores for the sensor: the only state that survives
    with dg.instance_for_test() as restarted:
        write_quotes(client, [quote("101", 120, "ETH/USD")])
        after = tick(redis_resource, saved, restarted)
        assert after.run_requests == []
        write_quotes(client, [quote("99.5", 180, "ETH/USD")])
        tick_cursor = tick(redis_resource, after.cursor, restarted).cursor  # re-arms below the line
        write_quotes(client, [quote("100.2", 240, "ETH/USD")])
        [again] = tick(redis_resource, tick_cursor, restarted).run_requests
        assert again.run_key == "eth:2"


def test_a_price_set_at_the_stand_in_becomes_one_alert(prices, mongo, redis_resource):
    client = redis_resource.get_client()
    RuleIndex(client).put(Rule(id="sol-dip", owner_chat_id="2002", pair=parse_pair("SOL/USD"), kind=Kind.BELOW,
                               threshold=Decimal("120")))
    resources = {"price_feed": prices.resource(), "mongo": mongo, "redis": redis_resource}
    run_config = {"ops": {"price_snapshots": {"config": {"watchlist": []}}}}
    prices.pin("SOL/USD", "125.10")
    dg.materialize([price_snapshots], resources=resources, run_config=run_config)
    cursor = tick(redis_resource, None).cursor
    prices.pin("SOL/USD", "119.99")
    dg.materialize([price_snapshots], resources=resources, run_config=run_config)
    [request] = tick(redis_resource, cursor).run_requests
    assert request.run_key == "sol-dip:1"
    assert price_alert_job.execute_in_process(run_config=request.run_config, resources=resources).success
    [(_, entry)] = client.xrange(NOTIFICATIONS_STREAM)
    assert json.loads(entry["payload"])["price"] == "119.99"


def test_the_demo_job_seeds_rules_and_ticks_them(prices, mongo, redis_resource):
    resources = {"price_feed": prices.resource(), "mongo": mongo, "redis": redis_resource}
    result = price_rules_demo_job.execute_in_process(
        resources=resources,
        run_config={"ops": {"run_price_rules_demo": {"config": {"ticks": 5, "tick_interval_s": 0.5}}}},
    )
    summary = result.output_for_node("run_price_rules_demo")
    assert summary["rules_seeded"] == 9  # BTC/USD, ETH/BTC, XRP/USD × above, below, move
    alerts = mongo.get_database()[ALERTS_COLLECTION].count_documents({})
    assert alerts == summary["alerts_fired"]
    assert redis_resource.get_client().xlen(NOTIFICATIONS_STREAM) == alerts
    [line] = market_summary(dg.Definitions(resources=resources))
    assert line.startswith("price snapshots: 5 symbols, rules evaluated: ") and line.endswith(f"alerts fired: {alerts}")
