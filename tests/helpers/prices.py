"""The price stand-in as the tests see it: its URL, its admin endpoints, and feed clients pointed at it."""

from __future__ import annotations

import httpx

from impressox_pipelines.market.feed import FeedSettings, PriceFeedClient
from impressox_pipelines.resources.price_feed import PriceFeedResource


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
