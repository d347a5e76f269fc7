"""Tickers map to CoinGecko ids only when unambiguous, and Binance symbols come from exchangeInfo."""

from __future__ import annotations

import json

import pytest

from impressox_pipelines.market.symbols import (
    AmbiguousSymbolError,
    BinanceMarkets,
    CoinGeckoIds,
    SymbolError,
    UnknownSymbolError,
    parse_pair,
)
from tests.helpers.paths import require_fixture


@pytest.mark.parametrize("text, expected", [
    ("btc", "BTC/USD"), ("eth/btc", "ETH/BTC"), ("1inch-usd", "1INCH/USD"), (" SOL ", "SOL/USD"),
])
def test_pairs(text, expected):
    assert str(parse_pair(text)) == expected


@pytest.mark.parametrize("text", ["", "btc/", "b tc", "$BTC", "x" * 21])
def test_not_pairs(text):
    with pytest.raises(SymbolError):
        parse_pair(text)


def test_an_unmapped_ticker_carried_by_several_ids_is_an_error_naming_them(prices):
    with prices.client() as client:
        coins = client.coins_list().body
    ids = CoinGeckoIds(coins_list=coins)
    assert ids.resolve("ETH") == "ethereum"  # the explicit mapping wins
    del ids.mapping["ETH"]
    with pytest.raises(AmbiguousSymbolError) as caught:
        ids.resolve("eth")
    assert caught.value.candidates == ["bridged-ether-starkgate", "ethereum", "ethereum-wormhole"]
    assert "ambiguous" in str(caught.value) and "coingecko_ids" in str(caught.value)
    assert CoinGeckoIds({"eth": "ethereum-wormhole"}).resolve("ETH") == "ethereum-wormhole"


def test_an_unmapped_ticker_with_one_id_resolves_and_an_unknown_one_fails():
    ids = CoinGeckoIds(coins_list=json.loads(require_fixture("coingecko_net", "GetAssets.json").read_text()))
    assert ids.resolve("zcn") == "0chain"
    with pytest.raises(UnknownSymbolError, match="no CoinGecko id"):
        ids.resolve("NOPE")
    with pytest.raises(UnknownSymbolError, match="explicit mapping"):
        CoinGeckoIds().resolve("ZCN")


def test_binance_symbols_from_the_real_exchange_info():
    info = json.loads(require_fixture("nautilus_binance", "http_spot_market_exchange_info.json").read_text())
    markets = BinanceMarkets(info)
    assert markets.symbol_for(parse_pair("BTC/USD")) == "BTCUSDT"
    assert markets.normalise("eth-usdt") == "ETHUSDT"
    assert markets.normalise("ETH/USD") == "ETHUSDT"
    with pytest.raises(UnknownSymbolError, match="SOL/USD"):
        markets.symbol_for(parse_pair("SOL/USD"))


def test_binance_symbols_starting_with_a_digit(prices):
    with prices.client() as client:
        markets = BinanceMarkets(client.exchange_info().body)
    assert markets.symbol_for(parse_pair("1INCH/USD")) == "1INCHUSDT"
    assert markets.normalise("1inch/usdt") == "1INCHUSDT"
    assert markets.normalise("1INCHUSDT") == "1INCHUSDT"
