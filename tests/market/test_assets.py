"""`price_snapshots` and `price_candles` materialized with real resources against the price stand-in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pytest
from bson.decimal128 import Decimal128
from typer.testing import CliRunner

from impressox_pipelines.assets.market import (
    CANDLE_CHECK,
    price_candles,
    price_snapshots,
    price_snapshots_fresh,
)
from impressox_pipelines.market.cache import read_latest
from impressox_pipelines.market.candles import candle_gaps
from impressox_pipelines.stores import PRICE_CANDLES_COLLECTION, PRICE_SNAPSHOTS_COLLECTION
from tests.helpers.paths import require_fixture


def materialize_snapshots(stand_in, mongo, redis_resource, watchlist):
    result = dg.materialize(
        [price_snapshots],
        resources={"price_feed": stand_in.resource(), "mongo": mongo, "redis": redis_resource},
        run_config={"ops": {"price_snapshots": {"config": {"watchlist": watchlist}}}},
    )
    [materialization] = result.asset_materializations_for_node("price_snapshots")
    return {k: v.value for k, v in materialization.metadata.items()}


def test_a_snapshot_is_stored_once_per_pair_source_and_time_and_cached(prices, mongo, redis_resource):
    watchlist = ["BTC/USD", "PEPE/USD", "1INCH/USD", "BNB/BTC", "NOPE/USD"]
    meta = materialize_snapshots(prices, mongo, redis_resource, watchlist)
    assert (meta["pairs_requested"], meta["pairs_priced"], meta["pairs_missing"]) == (5, 4, 1)
    assert "NOPE" in meta["missing"]["NOPE/USD"]
    docs = list(mongo.get_database()[PRICE_SNAPSHOTS_COLLECTION].find({}, {"_id": 0}))
    assert {d["pair"]: d["source"] for d in docs} == {
        "BTC/USD": "binance", "PEPE/USD": "binance", "1INCH/USD": "binance", "BNB/BTC": "coingecko"}
    latest = read_latest(redis_resource.get_client())
    for doc in docs:
        assert Decimal128(latest[doc["pair"]].price) == doc["price"]
    assert meta["documents_inserted"] == 4 and "| BTC/USD |" in meta["preview"]

    again = materialize_snapshots(prices, mongo, redis_resource, watchlist)
    # Binance quotes carry the fetch time and are appended; a CoinGecko quote whose last_updated_at
    # has not moved (same second here) is the same observation and is not stored twice.
    assert again["documents_inserted"] >= 3
    assert again["documents_inserted"] + again["documents_already_stored"] == 4
    collection = mongo.get_database()[PRICE_SNAPSHOTS_COLLECTION]
    assert collection.count_documents({}) == 4 + again["documents_inserted"]
    keys = [(d["pair"], d["source"], d["timestamp"]) for d in collection.find()]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("value", [None, 0, -5, "abc"])
def test_bad_prices_mark_pairs_missing_and_lose_nothing(prices, mongo, redis_resource, value):
    materialize_snapshots(prices, mongo, redis_resource, ["BTC/USD", "ETH/USD"])
    cached = read_latest(redis_resource.get_client())
    prices.fault("binance", "value", value=value, times=-1)
    prices.fault("coingecko", "value", value=value, times=-1)
    meta = materialize_snapshots(prices, mongo, redis_resource, ["BTC/USD", "ETH/USD"])
    assert meta["pairs_priced"] == 0 and meta["pairs_missing"] == 2
    assert "binance" in meta["missing"]["BTC/USD"] and "coingecko" in meta["missing"]["BTC/USD"]
    assert mongo.get_database()[PRICE_SNAPSHOTS_COLLECTION].count_documents({}) == 2
    assert read_latest(redis_resource.get_client()) == cached  # never stored as a price


def test_replayed_captures_price_btc_from_binance_and_eth_from_coingecko(replay, mongo, redis_resource):
    meta = materialize_snapshots(replay, mongo, redis_resource, ["BTC/USD", "ETH/USD"])
    assert meta["pairs_priced"] == 2
    collection = mongo.get_database()[PRICE_SNAPSHOTS_COLLECTION]
    eth = collection.find_one({"pair": "ETH/USD"})
    assert (eth["source"], eth["price"]) == ("coingecko", Decimal128("1498.64"))  # GetPrices.json, exactly
    rows = json.loads(require_fixture("nautilus_binance", "http_spot_market_klines.json").read_text())
    btc = collection.find_one({"pair": "BTC/USD"})
    assert btc["source"] == "binance"
    assert btc["price"].to_decimal() in {Decimal(r[4]) for r in rows}  # a replayed close


def test_freshness_check(prices, mongo, redis_resource):
    resources = {"price_feed": prices.resource(), "mongo": mongo, "redis": redis_resource}
    only_check = dg.AssetSelection.checks(price_snapshots_fresh)
    check = dg.materialize([price_snapshots, price_snapshots_fresh], selection=only_check, resources=resources)
    [before] = check.get_asset_check_evaluations()
    assert not before.passed and before.metadata["stale"].value == 3  # never priced
    materialize_snapshots(prices, mongo, redis_resource, ["BTC/USD", "ETH/USD", "SOL/USD"])
    check = dg.materialize([price_snapshots, price_snapshots_fresh], selection=only_check, resources=resources)
    [after] = check.get_asset_check_evaluations()
    assert after.passed


def capture_days(days):
    """Per day: the open times of the real 1m capture, read independently of the code under test."""
    rows = json.loads(require_fixture("freqtrade", "UNITTEST_BTC-1m.json").read_text())
    by_day = {day: [] for day in days}
    for row in rows:
        at = datetime.fromtimestamp(row[0] / 1000, tz=UTC)
        if at.strftime("%Y-%m-%d") in by_day:
            by_day[at.strftime("%Y-%m-%d")].append((at, row[4]))
    return by_day


def backfill(stand_in, mongo, redis_resource, day, pairs):
    result = dg.materialize(
        [price_candles], partition_key=day,
        resources={"price_feed": stand_in.resource(), "mongo": mongo, "redis": redis_resource},
        run_config={"ops": {"price_candles": {"config": {"pairs": pairs}}}},
    )
    [materialization] = result.asset_materializations_for_node("price_candles")
    [check] = result.get_asset_check_evaluations()
    return {k: v.value for k, v in materialization.metadata.items()}, check


def test_backfilling_three_days_twice_changes_nothing_the_second_time(replay, mongo, redis_resource):
    days = ["2017-11-05", "2017-11-06", "2017-11-07"]
    expected = capture_days(days)
    collection = mongo.get_database()[PRICE_CANDLES_COLLECTION]
    for day in days:
        meta, check = backfill(replay, mongo, redis_resource, day, ["UNITTEST/BTC"])
        assert meta["candles_inserted"] == len(expected[day]) > 1000
        assert meta["per_pair"]["UNITTEST/BTC"]["sources"] == ["binance"]
        gaps, _, _ = candle_gaps([at for at, _ in expected[day]], "1m")
        assert check.check_name == CANDLE_CHECK
        assert check.metadata["gaps"].value == gaps and check.passed == (gaps == 0)
        assert check.metadata["duplicates"].value == 0
    first = sorted(collection.find({}, {"_id": 0}), key=lambda d: d["open_time"])
    assert len(first) == sum(len(v) for v in expected.values())
    assert first[0]["close"] == Decimal128(Decimal(str(expected[days[0]][0][1])).quantize(Decimal("1e-8")))

    for day in days:
        meta, _ = backfill(replay, mongo, redis_resource, day, ["UNITTEST/BTC"])
        assert (meta["candles_inserted"], meta["candles_changed"]) == (0, 0)
        assert meta["candles_unchanged"] == len(expected[day])
    assert sorted(collection.find({}, {"_id": 0}), key=lambda d: d["open_time"]) == first


def test_candles_fall_back_to_coingecko_when_binance_has_no_market(prices, mongo, redis_resource):
    day = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d")
    meta, check = backfill(prices, mongo, redis_resource, day, ["BNB/BTC"])
    assert meta["per_pair"]["BNB/BTC"] == {"candles": 288, "sources": ["coingecko"]}
    assert any("no trading market" in note for note in meta["notes"])
    intervals = mongo.get_database()[PRICE_CANDLES_COLLECTION].distinct("interval")
    assert intervals == ["5m"] and check.passed


def test_backtest_over_stored_candles_uses_the_live_state_machine(replay, mongo, redis_resource):
    from impressox_pipelines.cli import app

    days = ["2017-11-05", "2017-11-06"]
    for day in days:
        backfill(replay, mongo, redis_resource, day, ["UNITTEST/BTC"])
    closes = [Decimal(str(c)) for day in days for _, c in capture_days(days)[day]]
    threshold = sorted(closes)[len(closes) // 2]
    # One-shot "above": the first close at or over the line after one below it.
    first = next(i for i in range(1, len(closes)) if closes[i - 1] < threshold <= closes[i])
    runner = CliRunner()
    added = runner.invoke(app, ["rules", "add", "bt", "--owner", "1001", "--symbol", "UNITTEST/BTC",
                                "--above", str(threshold)])
    assert added.exit_code == 0, added.output
    result = runner.invoke(app, ["rules", "backtest", "bt", "--start", days[0], "--end", days[1]])
    assert result.exit_code == 0, result.output
    assert f"over {len(closes)} 1m closes" in result.output
    assert "fire #1 at " in result.output and f": {closes[first]}" in result.output
    assert "1 fire(s); final state disabled" in result.output
