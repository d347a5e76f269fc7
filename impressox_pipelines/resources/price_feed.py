"""The price feed: CoinGecko and Binance over httpx (the real APIs, or the local price stand-in)."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from impressox_pipelines.market.feed import (
    BINANCE_URL,
    COINGECKO_PUBLIC_URL,
    FeedSettings,
    PriceFeedClient,
)
from impressox_pipelines.market.symbols import CoinGeckoIds

API_KEY_VARIABLE = "IMPRESSOX_COINGECKO_API_KEY"


class PriceFeedResource(ConfigurableResource):
    """Opens `PriceFeedClient`s (see `impressox_pipelines.market.feed` for retries and 429 handling).

    `coingecko_url` / `binance_url` default to the public APIs (`IMPRESSOX_COINGECKO_URL`,
    `IMPRESSOX_BINANCE_URL` at definitions-build time). `coingecko_api_key` is a secret set through
    `EnvVar("IMPRESSOX_COINGECKO_API_KEY")`, sent as `x-cg-demo-api-key` or, with
    `coingecko_api_plan="pro"`, `x-cg-pro-api-key`. `coingecko_ids` extends the built-in explicit
    ticker → id mapping (e.g. `{"WETH": "weth"}`). Timeouts and backoff are in seconds.
    """

    coingecko_url: str = COINGECKO_PUBLIC_URL
    binance_url: str = BINANCE_URL
    coingecko_api_key: str | None = Field(default=None, description="CoinGecko API key (secret; set through EnvVar).")
    coingecko_api_plan: str = Field(default="demo", description="'demo' or 'pro': picks the API-key header.")
    coingecko_ids: dict[str, str] = Field(default_factory=dict, description="Extra ticker → CoinGecko id mappings.")
    timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    max_attempts: int = 4
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0

    def client(self, max_attempts: int | None = None) -> PriceFeedClient:
        """A new client (use it as a context manager); `max_attempts` overrides the configured number
        (the rule sensor tries once: its next tick is the retry)."""
        return PriceFeedClient(FeedSettings(
            coingecko_url=self.coingecko_url, binance_url=self.binance_url,
            coingecko_api_key=self.coingecko_api_key, coingecko_api_plan=self.coingecko_api_plan,
            timeout_s=self.timeout_s, connect_timeout_s=self.connect_timeout_s,
            max_attempts=max_attempts or self.max_attempts,
            backoff_initial_s=self.backoff_initial_s, backoff_max_s=self.backoff_max_s,
        ))

    def coingecko_id_map(self) -> CoinGeckoIds:
        return CoinGeckoIds(self.coingecko_ids)
