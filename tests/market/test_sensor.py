"""`price_rule_sensor`: deterministic run keys, a cursor that carries the last evaluated prices across
restarts, stale watched prices fetched by the sensor itself, and `price_alert_job` runs that move the
rule, store the alert, enqueue it and deliver it exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg

from impressox_pipelines.assets.market import price_snapshots
from impressox_pipelines.demo.market import price_rules_demo_job
from impressox_pipelines.demo.summaries import market_summary
from impressox_pipelines.jobs.market import price_alert_job
from impressox_pipelines.market.cache import write_quotes
from impressox_pipelines.market.index import RuleIndex
from impressox_pipelines.market.prices import PriceQuote
from impressox_pipelines.market.rules import Kind, Rule, Status
from impressox_pipelines.market.symbols import parse_pair
from impressox_pipelines.sensors.price_rules import build_price_rule_sensor
from impressox_pipelines.stores import NOTIFICATIONS_STREAM, PRICE_ALERTS_COLLECTION


def tick(redis_resource, prices, cursor, rule_sensor, instance=None):
    resources = {"redis": redis_resource, "price_feed": prices.resource()}
    with dg.build_sensor_context(cursor=cursor, resources=resources, instance=instance) as context:
        return rule_sensor(context)


def quote(price: str, seconds: int, clock, pair: str = "BTC/USD") -> PriceQuote:
    """A quote `seconds` after the clock's now: fresh for the 30 s sensor, which then asks no source."""
    at = datetime.fromtimestamp(clock(), UTC) + timedelta(seconds=seconds)
    return PriceQuote(pair, Decimal(price), "binance", at)


def test_run_keys_are_deterministic_and_the_cursor_prevents_refiring(redis_resource, mongo, prices, clock,
                                                                      telegram, telegram_standin):
    sensor = build_price_rule_sensor(30, now=clock)
    client = redis_resource.get_client()
    RuleIndex(client).put(Rule(id="btc100k", owner_chat_id="1001", pair=parse_pair("BTC/USD"), kind=Kind.ABOVE,
                               threshold=Decimal("100000"), label="BTC 100k"))
    write_quotes(client, [quote("99950.5", 0, clock)])
    first = tick(redis_resource, prices, None, sensor)
    assert first.run_requests == [] and "no rule triggered" in first.skip_reason.skip_message
    assert json.loads(first.cursor)["prices"]["BTC/USD"][1] == "99950.5"

    write_quotes(client, [quote("100000.01", 60, clock)])
    second = tick(redis_resource, prices, first.cursor, sensor)
    [request] = second.run_requests
    assert request.run_key == "btc100k:1"
    repeated = tick(redis_resource, prices, first.cursor, sensor)  # the cursor was not saved: the same tick again
    assert [r.run_key for r in repeated.run_requests] == ["btc100k:1"]
    assert (tick(redis_resource, prices, second.cursor, sensor).skip_reason.skip_message
            == "no price newer than the last tick")
    assert prices.requests() == []  # the cached prices were fresh: the sensor asked no source

    resources = {"redis": redis_resource, "mongo": mongo, "telegram": telegram}
    for _ in range(2):  # a retried run applies nothing twice
        result = price_alert_job.execute_in_process(run_config=request.run_config, resources=resources)
        assert result.success
    outcomes = [price_alert_job.execute_in_process(run_config=request.run_config, resources=resources)
                .output_for_node("fire_price_alert")]
    assert outcomes == ["already"]
    [alert] = list(mongo.get_database()[PRICE_ALERTS_COLLECTION].find())
    assert alert["_id"] == "price_alert:btc100k:1" and alert["owner_chat_id"] == "1001"
    provenance = alert["provenance"]  # what made it fire: the rule as it was, hashed, and the engine version
    assert provenance["rule"]["threshold"] == "100000" and provenance["rule"]["kind"] == "above"
    assert len(provenance["rule_sha256"]) == 64 and provenance["engine_version"]
    [(_, entry)] = client.xrange(NOTIFICATIONS_STREAM)
    assert (entry["kind"], entry["chat_id"], entry["idempotency_key"]) == ("price_alert", "1001", alert["_id"])
    payload = json.loads(entry["payload"])
    assert payload["price"] == "100000.01" and payload["text"].startswith("BTC/USD crossed above 100000")
    _, state, _ = RuleIndex(client).get("btc100k")
    assert (state.status, state.seq) == (Status.DISABLED, 1)
    [message] = telegram_standin.received()  # delivered by the alert run itself, once for three runs
    assert str(message["chat_id"]) == "1001" and "100000.01" in message["text"]


def test_the_cursor_survives_a_restart_of_the_daemon(redis_resource, mongo, prices, clock, telegram):
    """A recurring rule fired at 100.5; the daemon restarts with the stored cursor; the price stays
    above the line: no new trigger. Without a cursor the first tick only records prices."""
    sensor = build_price_rule_sensor(30, now=clock)
    client = redis_resource.get_client()
    index = RuleIndex(client)
    index.put(Rule(id="eth", owner_chat_id="7", pair=parse_pair("ETH/USD"), kind=Kind.ABOVE,
                   threshold=Decimal(100), recurring=True, hysteresis_pct=Decimal(0)))
    with dg.instance_for_test() as instance:
        write_quotes(client, [quote("99", 0, clock, "ETH/USD")])
        cursor = tick(redis_resource, prices, None, sensor, instance).cursor
        write_quotes(client, [quote("100.5", 60, clock, "ETH/USD")])
        fired = tick(redis_resource, prices, cursor, sensor, instance)
        [trigger_request] = fired.run_requests
        price_alert_job.execute_in_process(run_config=trigger_request.run_config,
                                           resources={"redis": redis_resource, "mongo": mongo,
                                                      "telegram": telegram})
        saved = fired.cursor  # what Dagster stores for the sensor: the only state that survives
    with dg.instance_for_test() as restarted:
        write_quotes(client, [quote("101", 120, clock, "ETH/USD")])
        after = tick(redis_resource, prices, saved, sensor, restarted)
        assert after.run_requests == []
        write_quotes(client, [quote("99.5", 180, clock, "ETH/USD")])
        tick_cursor = tick(redis_resource, prices, after.cursor, sensor, restarted).cursor  # re-arms below the line
        write_quotes(client, [quote("100.2", 240, clock, "ETH/USD")])
        [again] = tick(redis_resource, prices, tick_cursor, sensor, restarted).run_requests
        assert again.run_key == "eth:2"


def test_a_price_set_at_the_stand_in_becomes_one_alert(prices, mongo, redis_resource, clock, telegram,
                                                       telegram_standin):
    sensor = build_price_rule_sensor(30, now=clock)  # the prices the runs stamp after `clock` are fresh for it
    client = redis_resource.get_client()
    RuleIndex(client).put(Rule(id="sol-dip", owner_chat_id="2002", pair=parse_pair("SOL/USD"), kind=Kind.BELOW,
                               threshold=Decimal("120")))
    resources = {"price_feed": prices.resource(), "mongo": mongo, "redis": redis_resource, "telegram": telegram}
    run_config = {"ops": {"price_snapshots": {"config": {"watchlist": []}}}}
    prices.pin("SOL/USD", "125.10")
    dg.materialize([price_snapshots], resources=resources, run_config=run_config)
    cursor = tick(redis_resource, prices, None, sensor).cursor
    prices.pin("SOL/USD", "119.99")
    dg.materialize([price_snapshots], resources=resources, run_config=run_config)
    [request] = tick(redis_resource, prices, cursor, sensor).run_requests
    assert request.run_key == "sol-dip:1"
    assert price_alert_job.execute_in_process(run_config=request.run_config, resources=resources).success
    [(_, entry)] = client.xrange(NOTIFICATIONS_STREAM)
    assert json.loads(entry["payload"])["price"] == "119.99"
    [message] = telegram_standin.received()
    assert str(message["chat_id"]) == "2002" and "119.99" in message["text"]


def test_the_sensor_prices_stale_watched_pairs_itself(prices, redis_resource, clock):
    """No `price_snapshots` run at all: the sensor asks the stand-in for the pairs of active rules once
    their cached price is older than half its interval, and the crossing fires."""
    slow, fast = build_price_rule_sensor(600, now=clock), build_price_rule_sensor(1, now=clock)
    client = redis_resource.get_client()
    RuleIndex(client).put(Rule(id="eth-4k", owner_chat_id="3003", pair=parse_pair("ETH/USD"), kind=Kind.ABOVE,
                               threshold=Decimal("4000")))
    prices.pin("ETH/USD", "3999.5")
    first = tick(redis_resource, prices, None, slow)  # nothing cached yet: priced now
    assert Decimal(json.loads(first.cursor)["prices"]["ETH/USD"][1]) == Decimal("3999.5")
    prices.pin("ETH/USD", "4000.25")
    asked = len(prices.requests())
    fresh = tick(redis_resource, prices, first.cursor, slow)  # cached < 300 s ago: not asked
    assert fresh.run_requests == [] and fresh.skip_reason.skip_message == "no price newer than the last tick"
    assert len(prices.requests()) == asked
    clock.advance(60)  # older than half of the fast sensor's 1 s interval, not of the slow one's 600 s
    assert tick(redis_resource, prices, first.cursor, slow).run_requests == []
    assert len(prices.requests()) == asked
    [request] = tick(redis_resource, prices, first.cursor, fast).run_requests
    assert request.run_key == "eth-4k:1"
    assert Decimal(request.run_config["ops"]["fire_price_alert"]["config"]["price"]) == Decimal("4000.25")
    clock.advance(60)
    tick(redis_resource, prices, first.cursor, fast)
    tickers = [r for r in prices.requests("binance") if r["path"].endswith("/ticker/price")]
    exchange_info = [r for r in prices.requests("binance") if r["path"].endswith("/exchangeInfo")]
    # One exchange info for both sensors (two daemons' worth): it is cached in Redis for an hour.
    assert (len(tickers), len(exchange_info)) == (3, 1)


def test_a_rate_limited_source_leaves_the_cached_prices_and_the_rules_alone(prices, redis_resource, clock):
    """Both sources answer 429 with Retry-After 5 s: the tick keeps the cached price and fires nothing,
    the next ticks ask neither source until the 5 s are over, then the crossing fires."""
    fast = build_price_rule_sensor(1, now=clock)
    client = redis_resource.get_client()
    RuleIndex(client).put(Rule(id="btc-dip", owner_chat_id="4004", pair=parse_pair("BTC/USD"), kind=Kind.BELOW,
                               threshold=Decimal("50000")))
    prices.pin("BTC/USD", "50100")
    cursor = tick(redis_resource, prices, None, fast).cursor
    prices.pin("BTC/USD", "49900")
    clock.advance(60)  # the cached price is stale for the fast sensor
    prices.fault("binance", "rate_limit", retry_after=5, times=-1)
    prices.fault("coingecko", "rate_limit", retry_after=5, times=-1)
    limited = tick(redis_resource, prices, cursor, fast)
    assert limited.run_requests == [] and limited.skip_reason.skip_message == "no price newer than the last tick"
    assert json.loads(limited.cursor) == json.loads(cursor)
    assert {r["service"] for r in prices.requests()} == {"binance", "coingecko"}  # both answered 429
    asked = len(prices.requests())
    clock.advance(4.9)
    resting = tick(redis_resource, prices, limited.cursor, fast)
    assert resting.run_requests == [] and len(prices.requests()) == asked  # neither source asked again
    prices.reset()
    prices.pin("BTC/USD", "49900")
    clock.advance(0.2)  # 5.1 s after the 429s: the rests are over
    [request] = tick(redis_resource, prices, limited.cursor, fast).run_requests
    assert request.run_key == "btc-dip:1"


def test_the_demo_job_seeds_rules_and_ticks_them(prices, mongo, redis_resource):
    resources = {"price_feed": prices.resource(), "mongo": mongo, "redis": redis_resource}
    result = price_rules_demo_job.execute_in_process(
        resources=resources,
        run_config={"ops": {"run_price_rules_demo": {"config": {"ticks": 5, "tick_interval_s": 0.5}}}},
    )
    summary = result.output_for_node("run_price_rules_demo")
    assert summary["rules_seeded"] == 9  # BTC/USD, ETH/BTC, XRP/USD × above, below, move
    alerts = mongo.get_database()[PRICE_ALERTS_COLLECTION].count_documents({})
    assert alerts == summary["alerts_fired"]
    assert redis_resource.get_client().xlen(NOTIFICATIONS_STREAM) == alerts
    candles, line, follow = market_summary(dg.Definitions(resources=resources))
    assert candles.startswith("price candles stored: 0 (none: ")  # this job stores no candles
    assert line.startswith("price snapshots: 5 symbols; price rules: 9 (demo-btc-usd-above, ")
    assert f"alerts fired: {alerts}" in line
    assert follow.startswith("→ IMPRESSOX_DATA_DIR=") and follow.endswith("impressox rules list")
