"""The feed state shared through Redis: a source's 429 rest honoured by every `price_snapshots` run and the
rule sensor, and Binance's exchange info fetched once an hour for all of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pytest

from impressox_pipelines.assets.market import price_snapshots
from impressox_pipelines.market.feed import parse_retry_after
from impressox_pipelines.market.feed_state import (
    DEFAULT_REST_S,
    EXCHANGE_INFO_KEY,
    MAX_REST_S,
    PRICE_REST_PREFIX,
    ExchangeInfoCache,
    read_rests,
    record_rest,
    rest_seconds,
    take_polite_snapshot,
)
from impressox_pipelines.market.index import RuleIndex
from impressox_pipelines.market.rules import Kind, Rule
from impressox_pipelines.market.symbols import CoinGeckoIds, parse_pair
from impressox_pipelines.sensors.price_rules import build_price_rule_sensor
from impressox_pipelines.stores import PRICE_SNAPSHOTS_COLLECTION


def snapshot_run(stand_in, mongo, redis_resource, watchlist, poll_interval_s=60.0):
    """One `price_snapshots` run: a fresh materialize, sharing only Redis and MongoDB with the others."""
    result = dg.materialize(
        [price_snapshots],
        resources={"price_feed": stand_in.resource(), "mongo": mongo, "redis": redis_resource},
        run_config={"ops": {"price_snapshots": {"config": {"watchlist": watchlist,
                                                           "poll_interval_s": poll_interval_s}}}},
    )
    [materialization] = result.asset_materializations_for_node("price_snapshots")
    return {k: v.value for k, v in materialization.metadata.items()}


def sensor_tick(stand_in, redis_resource, rule_sensor):
    """One tick of `rule_sensor` (build it with `now=clock` to choose its time)."""
    resources = {"redis": redis_resource, "price_feed": stand_in.resource()}
    with dg.build_sensor_context(resources=resources) as context:
        return rule_sensor(context)


def asked(stand_in, service, path_end=""):
    return len([r for r in stand_in.requests(service) if r["path"].endswith(path_end)])


def watch(redis_resource, pair):
    RuleIndex(redis_resource.get_client()).put(
        Rule(id=f"watch-{pair.replace('/', '-')}", owner_chat_id="5005", pair=parse_pair(pair), kind=Kind.ABOVE,
             threshold=Decimal("10000000")))


def test_retry_after_values_become_bounded_rests():
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert rest_seconds(parse_retry_after("2.5", now)) == 2.5
    assert rest_seconds(parse_retry_after("Mon, 01 Jan 2024 12:02:00 GMT", now)) == 120  # HTTP-date form
    assert rest_seconds(parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now)) == 0  # already past
    assert rest_seconds(parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", now)) == MAX_REST_S  # absurd
    assert rest_seconds(parse_retry_after("999999999", now)) == MAX_REST_S
    for garbage in [None, "", "soon", "inf", "nan", "-inf", "Mon, 99 Foo 2024"]:
        assert parse_retry_after(garbage, now) is None, garbage
        assert rest_seconds(parse_retry_after(garbage, now)) == DEFAULT_REST_S


def test_a_rest_expires_with_its_retry_after_and_only_grows(redis_resource, clock):
    client = redis_resource.get_client()
    recorded_at = datetime.fromtimestamp(clock(), UTC)
    long = record_rest(client, "binance", 30, clock)
    assert long.retry_after_s == 30 and (long.until - recorded_at).total_seconds() == 30
    shorter = record_rest(client, "binance", 0.5, clock)  # another process's shorter answer: the longer rest stays
    assert shorter == long and 0 < client.pttl(PRICE_REST_PREFIX + "binance") <= 30_000  # Redis drops it then
    record_rest(client, "coingecko", 0.3, clock)
    assert set(read_rests(client, now=clock)) == {"binance", "coingecko"}
    clock.advance(0.4)
    assert set(read_rests(client, now=clock)) == {"binance"}
    assert record_rest(client, "coingecko", 0, clock) is None and read_rests(client, ["coingecko"], clock) == {}
    clock.advance(29.5)  # 29.9 s after the 30 s rest began: still in force
    assert set(read_rests(client, now=clock)) == {"binance"}
    clock.advance(0.2)  # over, by the clock, though Redis has not dropped the key yet
    assert read_rests(client, now=clock) == {}
    renewed = record_rest(client, "binance", 5, clock)  # a new 429 once the old rest is over: a new rest
    assert (renewed.until - long.until).total_seconds() == pytest.approx(5.1)
    assert 0 < client.pttl(PRICE_REST_PREFIX + "binance") <= 5_000

    client.set(PRICE_REST_PREFIX + "coingecko", "garbage", px=5000)  # unreadable, but it still says "rest"
    assert read_rests(client, now=clock)["coingecko"].retry_after_s is None
    client.set(PRICE_REST_PREFIX + "coingecko", json.dumps({"retry_after_s": 5}))  # no expiry: not ours, ignored
    assert "coingecko" not in read_rests(client, now=clock)


def test_a_429_seen_by_one_run_rests_the_source_for_the_next_runs_and_the_sensor(prices, mongo, redis_resource,
                                                                                 clock):
    """Binance answers 429 with Retry-After 600 s (longer than the run's 0.5 s budget): that run, the rule
    sensor and the next run price from CoinGecko without asking Binance; once the 600 s have passed on
    the clock, the next snapshot asks Binance again. (The runs read the real clock, which the rest
    outlasts; the sensor and the last snapshot read `clock`, moved past the rest's end.)"""
    pairs = ["BTC/USD", "ETH/USD"]
    prices.fault("binance", "rate_limit", retry_after=600, times=1)
    first = snapshot_run(prices, mongo, redis_resource, pairs, poll_interval_s=0.5)
    assert first["rests_recorded"]["binance"]["retry_after_s"] == 600
    until = datetime.fromisoformat(first["rests_recorded"]["binance"]["until"])
    rest = json.loads(redis_resource.get_client().get(PRICE_REST_PREFIX + "binance"))
    assert rest["rest_s"] == 600 and rest["until_ms"] - rest["since_ms"] == 600_000
    assert until.timestamp() * 1000 == rest["until_ms"] and clock() + 600 <= until.timestamp()
    assert first["pairs_priced"] == 2 and first["sources"]["coingecko"]["received"] == 2
    assert asked(prices, "binance") == 1  # the exchange info request that got the 429; nothing waited

    watch(redis_resource, "SOL/USD")  # never priced: stale for the sensor, which prices it itself
    coingecko_before = asked(prices, "coingecko")
    sensor_tick(prices, redis_resource, build_price_rule_sensor(1, now=clock))
    assert asked(prices, "binance") == 1 and asked(prices, "coingecko") == coingecko_before + 1

    second = snapshot_run(prices, mongo, redis_resource, pairs, poll_interval_s=0.5)
    assert asked(prices, "binance") == 1  # a new run, a new process: Binance still left alone
    assert second["sources_resting"] == {"binance": {"until": until.isoformat(), "retry_after_s": 600.0}}
    assert "resting until" in second["sources"]["binance"]["skipped"] and second["rests_recorded"] == {}
    assert second["pairs_priced"] == 3 and second["sources"]["coingecko"]["received"] == 3
    stored = mongo.get_database()[PRICE_SNAPSHOTS_COLLECTION]
    assert stored.count_documents({"source": "binance"}) == 0
    assert stored.count_documents({"source": "coingecko"}) >= 2

    clock.advance(until.timestamp() - clock() - 0.1)  # 0.1 s before the end: still resting
    with prices.client() as feed:
        still = take_polite_snapshot(redis_resource.get_client(), feed, [parse_pair(p) for p in pairs],
                                     CoinGeckoIds(), now=clock)
    assert set(still.resting) == {"binance"} and asked(prices, "binance") == 1
    clock.advance(0.2)
    with prices.client() as feed:
        third = take_polite_snapshot(redis_resource.get_client(), feed,
                                     [parse_pair(p) for p in [*pairs, "SOL/USD"]], CoinGeckoIds(), now=clock)
    assert third.resting == {} and third.snapshot.sources["binance"].received == 3
    assert asked(prices, "binance", "/ticker/price") == 1
    assert {q.source for q in third.snapshot.quotes.values()} == {"binance"}


def test_a_429_seen_by_the_sensor_rests_the_source_for_the_asset(prices, mongo, redis_resource, clock):
    watch(redis_resource, "ETH/USD")
    prices.fault("binance", "rate_limit", retry_after=600, times=1)  # the run reads the real clock: a long rest
    sensor_tick(prices, redis_resource, build_price_rule_sensor(1, now=clock))  # nothing cached: ETH/USD is stale
    rest = read_rests(redis_resource.get_client(), now=clock)["binance"]
    assert rest.retry_after_s == 600 and rest.until.timestamp() == clock() + 600
    binance_before = asked(prices, "binance")
    meta = snapshot_run(prices, mongo, redis_resource, ["BTC/USD"])
    assert asked(prices, "binance") == binance_before  # the sensor's rest kept the run away from Binance
    assert meta["sources_resting"]["binance"] == rest.as_metadata()
    assert meta["pairs_priced"] == 2 and meta["sources"]["coingecko"]["received"] == 2


def test_a_429_without_a_retry_after_or_with_an_absurd_one_gets_a_bounded_rest(prices, mongo, redis_resource):
    prices.fault("binance", "rate_limit", times=-1)  # no Retry-After header at all
    prices.fault("coingecko", "rate_limit", retry_after=86400, times=-1)  # a day
    meta = snapshot_run(prices, mongo, redis_resource, ["BTC/USD"])
    client = redis_resource.get_client()
    for source, asked_s, rest_s in [("binance", None, DEFAULT_REST_S), ("coingecko", 86400, MAX_REST_S)]:
        assert meta["rests_recorded"][source]["retry_after_s"] == asked_s
        stored = json.loads(client.get(PRICE_REST_PREFIX + source))
        assert stored["rest_s"] == rest_s and stored["until_ms"] - stored["since_ms"] == rest_s * 1000
        assert 0 < client.pttl(PRICE_REST_PREFIX + source) <= rest_s * 1000  # Redis drops it when it ends
    assert meta["pairs_priced"] == 0 and "rate limited" in meta["missing"]["BTC/USD"]


def test_exchange_info_is_fetched_once_for_runs_and_sensor(prices, mongo, redis_resource):
    first = snapshot_run(prices, mongo, redis_resource, ["BTC/USD"])
    second = snapshot_run(prices, mongo, redis_resource, ["BTC/USD"])
    watch(redis_resource, "SOL/USD")
    sensor_tick(prices, redis_resource, build_price_rule_sensor(1))
    assert (first["exchange_info"], second["exchange_info"]) == ("binance", "redis")
    assert second["sources"]["binance"]["received"] == 1
    assert (asked(prices, "binance", "/exchangeInfo"), asked(prices, "binance", "/ticker/price")) == (1, 3)
    ttl = redis_resource.get_client().ttl(EXCHANGE_INFO_KEY)
    assert 3500 < ttl <= 3600


def test_the_exchange_info_expires_after_its_ttl_on_the_readers_clock(prices, redis_resource, clock):
    client = redis_resource.get_client()
    with prices.client() as feed:
        fetched = ExchangeInfoCache(client, now=clock)
        fetched.markets(feed)
        clock.advance(3599.5)  # still within the hour
        cached = ExchangeInfoCache(client, now=clock)
        cached.markets(feed)
        assert (fetched.origin, cached.origin, asked(prices, "binance", "/exchangeInfo")) == ("binance", "redis", 1)
        clock.advance(0.5)  # an hour old: expired, though Redis still holds the key
        assert client.get(EXCHANGE_INFO_KEY) is not None
        expired = ExchangeInfoCache(client, now=clock)
        expired.markets(feed)
    assert (expired.origin, expired.note) == ("binance", None)  # like a key Redis dropped: no complaint
    assert asked(prices, "binance", "/exchangeInfo") == 2
    assert json.loads(client.get(EXCHANGE_INFO_KEY))["fetched_ms"] == int(clock() * 1000)


UNUSABLE_CACHED_EXCHANGE_INFO = {
    "truncated JSON": "{truncated",
    "no fetch time": json.dumps({"url": "{url}", "symbols": [
        {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT"}]}),
    "not an object": json.dumps(["not", "an", "object"]),
    "symbols not a list": json.dumps({"url": "{url}", "symbols": "BTCUSDT"}),
    "no trading market": json.dumps({"url": "{url}", "symbols": [
        {"symbol": "BTCUSDT", "status": "BREAK", "baseAsset": "BTC", "quoteAsset": "USDT"}]}),
    "another base URL": json.dumps({"url": "http://127.0.0.1:9/elsewhere", "symbols": [
        {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT"}]}),
}


def test_an_unusable_cached_exchange_info_is_fetched_again_and_replaced(prices, redis_resource):
    client = redis_resource.get_client()
    for case, cached in UNUSABLE_CACHED_EXCHANGE_INFO.items():
        prices.reset()
        client.set(EXCHANGE_INFO_KEY, cached.replace("{url}", prices.url), ex=600)
        cache = ExchangeInfoCache(client)
        with prices.client() as feed:
            markets = cache.markets(feed)
        assert cache.origin == "binance" and "fetched again" in cache.note, case
        assert markets.symbol_for(parse_pair("ETH/USD")) == "ETHUSDT", case
        assert asked(prices, "binance", "/exchangeInfo") == 1, case
        replaced = json.loads(client.get(EXCHANGE_INFO_KEY))
        assert replaced["url"] == prices.url and client.ttl(EXCHANGE_INFO_KEY) > 3500, case
        again = ExchangeInfoCache(client)
        with prices.client() as feed:
            assert again.markets(feed).symbols == markets.symbols, case
        assert again.origin == "redis" and again.note is None, case
        assert asked(prices, "binance", "/exchangeInfo") == 1, case


def test_a_failed_exchange_info_fetch_caches_nothing_and_coingecko_prices(prices, mongo, redis_resource):
    prices.fault("binance", "html", times=1)  # a proxy's HTML page instead of the exchange info
    meta = snapshot_run(prices, mongo, redis_resource, ["BTC/USD"])
    assert meta["exchange_info"] == "not used" and "HTML" in meta["sources"]["binance"]["skipped"]
    assert meta["rests_recorded"] == {} and meta["sources"]["coingecko"]["received"] == 1
    assert redis_resource.get_client().get(EXCHANGE_INFO_KEY) is None
    assert snapshot_run(prices, mongo, redis_resource, ["BTC/USD"])["exchange_info"] == "binance"


def test_with_every_source_resting_nothing_is_asked_and_pairs_say_why(prices, mongo, redis_resource):
    client = redis_resource.get_client()
    record_rest(client, "binance", 30)
    record_rest(client, "coingecko", None)
    meta = snapshot_run(prices, mongo, redis_resource, ["BTC/USD"])
    assert prices.requests() == []
    assert meta["pairs_priced"] == 0 and set(meta["sources_resting"]) == {"binance", "coingecko"}
    reason = meta["missing"]["BTC/USD"]
    assert "binance: resting until" in reason and "Retry-After 30 s" in reason
    assert "coingecko: resting until" in reason and "429 without a usable Retry-After" in reason
    assert (datetime.fromisoformat(meta["sources_resting"]["coingecko"]["until"]) - datetime.now(UTC)
            > timedelta(seconds=DEFAULT_REST_S - 10))
