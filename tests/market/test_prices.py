"""Prices are parsed exactly from the JSON text, and anything that is not a positive finite number is
rejected with a reason instead of becoming a price."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from impressox_pipelines.market.prices import (
    InvalidPrice,
    MalformedResponse,
    loads_exact,
    parse_klines,
    parse_market_chart,
    parse_simple_price,
    parse_ticker_prices,
    to_price,
)
from tests.helpers.paths import require_fixture

NOW = datetime(2024, 4, 7, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("text, expected", [
    ("1e-8", Decimal("0.00000001")),
    ("8.72e-06", Decimal("0.00000872")),
    ("69702.3087473573", Decimal("69702.3087473573")),
    ("0.1000000000000000055511151231257827", Decimal("0.1000000000000000055511151231257827")),
    ("123456789012345678.123456789", Decimal("123456789012345678.123456789")),
])
def test_json_numbers_keep_every_digit(text, expected):
    value = loads_exact(f'{{"x": {{"usd": {text}}}}}')["x"]["usd"]
    assert value == expected
    assert str(value) == str(Decimal(text))  # the very digits sent, not a float's approximation


def test_float_parsing_would_have_lost_digits():
    # Why parse_float=Decimal matters: the float path changes this value.
    digits = "0.1000000000000000055511151231257827"
    assert Decimal(json.loads(digits)) != Decimal(digits)


def test_real_coingecko_simple_price_capture():
    body = loads_exact(require_fixture("coingecko_net", "GetPrices.json").read_text())
    parsed = parse_simple_price(body, {"ETH/USD": ("ethereum", "usd"), "BTC/USD": ("bitcoin", "usd")}, NOW)
    assert parsed.quotes["ETH/USD"].price == Decimal("1498.64")
    assert parsed.quotes["ETH/USD"].timestamp == NOW  # the capture has no last_updated_at
    assert "absent" in parsed.missing["BTC/USD"]


def test_real_coingecko_market_chart_capture_is_exact():
    text = require_fixture("coingecko_net", "GetMarketChart.json").read_text()
    points, volumes, rejected = parse_market_chart(loads_exact(text))
    assert rejected == []
    assert [ms for ms, _ in points] == [1711843200000, 1711929600000, 1711983682000]
    assert points[0][1] == Decimal("69702.3087473573")
    assert volumes[1711929600000] == Decimal("19723005998.215")


def test_real_binance_ticker_and_klines_captures():
    ticker = loads_exact(require_fixture("nautilus_binance", "http_spot_market_ticker_price.json").read_text())
    parsed = parse_ticker_prices(ticker, {"BTC/USD": "BTCUSDT"}, NOW)
    assert parsed.quotes["BTC/USD"].price == Decimal("60740.00000000")
    rows = loads_exact(require_fixture("nautilus_binance", "http_spot_market_klines.json").read_text())
    candles, rejected = parse_klines(rows)
    assert rejected == [] and len(candles) == len(rows)
    assert candles[0].open_time == datetime.fromtimestamp(rows[0][0] / 1000, tz=UTC)
    assert (candles[0].open, candles[0].close) == (Decimal(rows[0][1]), Decimal(rows[0][4]))


@pytest.mark.parametrize("value, reason", [
    (None, "null"), (0, "not positive"), (Decimal("-5.2"), "not positive"), ("abc", "not a number"),
    (True, "boolean"), ("NaN", "not finite"), ("Infinity", "not finite"), ([], "type list"),
])
def test_values_that_are_not_prices(value, reason):
    with pytest.raises(InvalidPrice, match=reason):
        to_price(value)


def test_a_null_price_marks_only_that_pair_missing():
    body = loads_exact('{"bitcoin": {"usd": null}, "ethereum": {"usd": 0}, "solana": {"usd": "n/a"}, '
                       '"pepe": {"usd": 8.5e-06, "last_updated_at": 1712505600}}')
    wanted = {"BTC/USD": ("bitcoin", "usd"), "ETH/USD": ("ethereum", "usd"), "SOL/USD": ("solana", "usd"),
              "PEPE/USD": ("pepe", "usd")}
    parsed = parse_simple_price(body, wanted, NOW)
    assert set(parsed.quotes) == {"PEPE/USD"}
    assert parsed.quotes["PEPE/USD"].price == Decimal("0.0000085")
    assert parsed.quotes["PEPE/USD"].timestamp == datetime.fromtimestamp(1712505600, tz=UTC)
    assert "null" in parsed.missing["BTC/USD"]
    assert "not positive" in parsed.missing["ETH/USD"]
    assert "not a number" in parsed.missing["SOL/USD"]


@pytest.mark.parametrize("body, message", [
    ("<html><head><title>502 Bad Gateway</title></head></html>", "HTML page"),
    ('{"bitcoin": {"usd": 6', "invalid JSON"),
    ("", "empty body"),
    ('{"bitcoin": {"usd": NaN}}', "NaN"),
])
def test_bodies_that_are_not_json(body, message):
    with pytest.raises(MalformedResponse, match=message):
        loads_exact(body)


def test_malformed_kline_rows_are_rejected_one_by_one():
    rows = loads_exact('[[1, "1.0", "2.0", "0.5", "1.5", "3"], [2, "1.0", "0.9", "0.5", "1.5", "3"], '
                       '["x"], [3, "1.0", "2.0", null, "1.5", "3"]]')
    candles, rejected = parse_klines(rows)
    assert [c.open_time.timestamp() * 1000 for c in candles] == [1]
    assert len(rejected) == 3
    assert any("high/low" in r for r in rejected) and any("null" in r for r in rejected)
