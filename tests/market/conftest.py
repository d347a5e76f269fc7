"""Fixtures of the market tests: the price stand-in over real HTTP (generated data, or the real captures
replayed from ../shared/fixtures), and feed settings pointed at it."""

from __future__ import annotations

import httpx
import pytest

from impressox_pipelines.market.feed import FeedSettings, PriceFeedClient
from impressox_pipelines.resources.price_feed import PriceFeedResource
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.standins.prices import create_app
from impressox_pipelines.standins.server import StandInServer
from impressox_pipelines.standins.telegram import TelegramStandIn
from tests.conftest import require_fixture

BOT_TOKEN = "424242:market-test-token"


class PriceStandIn:
    """A running price stand-in and its control endpoints."""

    def __init__(self, url: str):
        self.url = url
        self.admin = httpx.Client(base_url=url, timeout=10)

    def reset(self) -> None:
        self.admin.post("/_admin/reset").raise_for_status()

    def fault(self, service: str, kind: str, **options) -> None:
        self.admin.post("/_admin/fault", json={"service": service, "kind": kind, **options}).raise_for_status()

    def pin(self, pair: str, price: str | None) -> None:
        self.admin.post("/_admin/price", json={"pair": pair, "price": price}).raise_for_status()

    def requests(self, service: str | None = None) -> list[dict]:
        log = self.admin.get("/_admin/requests").json()
        return [r for r in log if service is None or r["service"] == service]

    def settings(self, **overrides) -> FeedSettings:
        values = {"coingecko_url": f"{self.url}/api/v3", "binance_url": self.url, "backoff_initial_s": 0.01,
                  "backoff_max_s": 0.05, "timeout_s": 5.0, **overrides}
        return FeedSettings(**values)

    def client(self, **overrides) -> PriceFeedClient:
        return PriceFeedClient(self.settings(**overrides))

    def resource(self, **overrides) -> PriceFeedResource:
        return PriceFeedResource(coingecko_url=f"{self.url}/api/v3", binance_url=self.url, backoff_initial_s=0.01,
                                 backoff_max_s=0.05, **overrides)


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


@pytest.fixture
def bot_api(data_dir):
    """The Telegram stand-in over real HTTP, and a `TelegramResource` pointed at it."""
    state = TelegramStandIn()
    with StandInServer(state.app) as server:
        yield server.url, TelegramResource(bot_token=BOT_TOKEN, base_url=f"{server.url}/bot", data_dir=str(data_dir))


def messages_received(url: str) -> list[dict]:
    return httpx.get(f"{url}/_standin/received").json()["messages"]
