"""Resources: one file per outside system, each with a production and an embedded implementation.

`build_resources()` is where the code location's deployment is chosen, from `settings.load_settings()`:
a service whose variable is set is configured through `dagster.EnvVar` (so the UI shows the variable's
name, never its value); an unset one falls back to its embedded default, which `IMPRESSOX_ENV=prod`
forbids. The stores' resources delegate their connecting to `impressox_pipelines.connections`, which the
CLI and scripts open directly (`connections.open_stores`, the same variables and the same rule): so the
UI, the daemon, the runs, the CLI, the demo and the tests open the same stores the same way, and a
command that only touches a store never imports Dagster.
"""

from __future__ import annotations

from typing import Any

from dagster import EnvVar

from impressox_pipelines.connections.mongo import URI_VARIABLE as MONGO_URI_VARIABLE
from impressox_pipelines.connections.redis import URL_VARIABLE as REDIS_URL_VARIABLE
from impressox_pipelines.connections.telegram import TOKEN_VARIABLE
from impressox_pipelines.connections.x_accounts import ACCOUNTS_VARIABLE
from impressox_pipelines.resources.chroma import ChromaResource
from impressox_pipelines.resources.embedding import EmbeddingModelResource
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.price_feed import API_KEY_VARIABLE, PriceFeedResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.resources.x_scraper import XScraperResource
from impressox_pipelines.settings import Settings, is_set, load_settings, require_production_environment


def _env_or_none(name: str) -> EnvVar | None:
    return EnvVar(name) if is_set(name) else None


def build_resources(settings: Settings | None = None) -> dict[str, Any]:
    """Every resource of the code location, keyed by the names assets, sensors and ops ask for.

    Raises:
        ConfigurationError: with `IMPRESSOX_ENV=prod`, naming every unset service variable.
    """
    settings = settings or load_settings()
    require_production_environment()
    feed_defaults = PriceFeedResource.model_fields
    return {
        "mongo": MongoResource(uri=_env_or_none(MONGO_URI_VARIABLE)),
        "redis": RedisResource(url=_env_or_none(REDIS_URL_VARIABLE)),
        "chroma": ChromaResource(url=settings.chroma_url),
        "telegram": TelegramResource(bot_token=_env_or_none(TOKEN_VARIABLE),
                                     base_url=settings.telegram_api_url),
        "price_feed": PriceFeedResource(
            coingecko_url=settings.coingecko_url or feed_defaults["coingecko_url"].default,
            binance_url=settings.binance_url or feed_defaults["binance_url"].default,
            coingecko_api_key=_env_or_none(API_KEY_VARIABLE),
            coingecko_api_plan=settings.coingecko_api_plan,
        ),
        "x_scraper": XScraperResource(
            backend=settings.x_backend,
            base_url=settings.x_url,
            accounts_file=_env_or_none(ACCOUNTS_VARIABLE),
            executable_path=settings.chromium_path,
        ),
        "embedding_model": EmbeddingModelResource(model_path=settings.embedding_model_path),
    }


__all__ = ["ChromaResource", "MongoResource", "RedisResource", "TelegramResource", "build_resources"]
