"""The price stand-in's pin endpoint: a pinned price is served as pinned on both APIs, 0 included (the real
APIs serve 0 for a halted market or a dead coin); a price no real API serves is refused with a 400."""

from __future__ import annotations

import httpx
import pytest


def served(prices) -> tuple[str, object]:
    """BTC/USD as Binance's `/ticker/price` (a string) and CoinGecko's `/simple/price` (a number) serve it."""
    binance = httpx.get(f"{prices.url}/api/v3/ticker/price", params={"symbol": "BTCUSDT"}, timeout=10)
    coingecko = httpx.get(f"{prices.url}/api/v3/simple/price", params={"ids": "bitcoin", "vs_currencies": "usd"},
                          timeout=10)
    return binance.json()["price"], coingecko.json()["bitcoin"]["usd"]


def test_a_pinned_price_is_served_on_both_apis_until_unpinned(prices):
    prices.pin("BTC/USD", "101250.5")
    assert served(prices) == ("101250.50000000", 101250.5)

    prices.pin("BTC/USD", None)
    binance, coingecko = served(prices)
    assert binance != "101250.50000000" and coingecko != 101250.5, "the generated walk again"


@pytest.mark.parametrize("zero", ["0", 0, "0.00"])
def test_a_pin_of_zero_is_served_as_zero_not_replaced_by_the_generated_price(prices, zero):
    prices.pin("BTC/USD", zero)

    assert served(prices) == ("0.00000000", 0)


@pytest.mark.parametrize("price, reason", [
    ("-5", "a finite price >= 0 expected"),
    (-0.5, "a finite price >= 0 expected"),
    ("NaN", "a finite price >= 0 expected"),
    ("Infinity", "a finite price >= 0 expected"),
    ("1e999999999", "too large for Binance's 8-decimal price strings"),
    ("abc", "a finite price >= 0 expected"),
    ("", "a finite price >= 0 expected"),
    (True, "a decimal string or number expected"),
    ({"usd": 1}, "a decimal string or number expected"),
])
def test_a_price_no_real_api_serves_is_refused_and_the_pin_is_kept(prices, price, reason):
    prices.pin("BTC/USD", "90000")

    refused = prices.admin.post("/_admin/price", json={"pair": "BTC/USD", "price": price})

    assert refused.status_code == 400
    assert reason in refused.json()["error"]
    assert served(prices) == ("90000.00000000", 90000)


@pytest.mark.parametrize("body, reason", [
    ({"pair": "BTC/", "price": "1"}, "not a pair: 'BTC/'"),
    ({"price": "1"}, '{"pair": "BTC/USD", "price": "101000"} expected'),
    ([1, 2], '{"pair": "BTC/USD", "price": "101000"} expected'),
])
def test_a_malformed_pin_request_is_a_400_not_a_server_error(prices, body, reason):
    refused = prices.admin.post("/_admin/price", json=body)

    assert refused.status_code == 400
    assert reason in refused.json()["error"]


def test_a_body_that_is_not_json_is_a_400(prices):
    refused = prices.admin.post("/_admin/price", content=b"pair=BTC/USD",
                                headers={"content-type": "application/json"})

    assert refused.status_code == 400
