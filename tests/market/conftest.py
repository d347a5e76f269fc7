"""Fixtures of the market tests: the price stand-in over real HTTP (generated data, or the real captures
replayed from ../shared/fixtures)."""

from __future__ import annotations

import pytest

from impressox_pipelines.standins.prices import create_app
from impressox_pipelines.standins.server import StandInServer
from tests.helpers.paths import require_fixture
from tests.helpers.prices import PriceStandIn


@pytest.fixture(scope="module")
def _generated_server():
    with StandInServer(create_app(None)) as server:
        yield PriceStandIn(server.url)


@pytest.fixture(scope="module")
def _replay_server():
    root = require_fixture()
    require_fixture("freqtrade", "UNITTEST_BTC-1m.json")
    require_fixture("nautilus_binance", "http_spot_market_klines.json")
    require_fixture("coingecko_net", "GetPrices.json")
    with StandInServer(create_app(root)) as server:
        yield PriceStandIn(server.url)


@pytest.fixture
def prices(_generated_server) -> PriceStandIn:
    """The stand-in serving generated data, with no faults or pins left from another test."""
    _generated_server.reset()
    return _generated_server


@pytest.fixture
def replay(_replay_server) -> PriceStandIn:
    """The stand-in replaying the real captures in ../shared/fixtures (skips when they are absent)."""
    _replay_server.reset()
    return _replay_server
