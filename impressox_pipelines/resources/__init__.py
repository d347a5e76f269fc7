"""Resources: one file per outside system, each with a production and an embedded implementation.

`build_resources()` is the one place where the deployment is chosen, from `settings.load_settings()`:
a service whose variable is set is configured through `dagster.EnvVar` (so the UI shows the variable's
name, never its value); an unset one falls back to its embedded default, which `IMPRESSOX_ENV=prod`
forbids. The code location, the CLI (`open_resources`), the demo and the tests all go through it, so
they open the same stores the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import EnvVar

from impressox_pipelines.resources.chroma import ChromaResource
from impressox_pipelines.resources.embedding import EmbeddingModelResource
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.price_feed import API_KEY_VARIABLE, PriceFeedResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.resources.x_scraper import ACCOUNTS_VARIABLE, XScraperResource
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
        "mongo": MongoResource(uri=_env_or_none("IMPRESSOX_MONGODB_URI")),
        "redis": RedisResource(url=_env_or_none("IMPRESSOX_REDIS_URL")),
        "chroma": ChromaResource(url=settings.chroma_url),
        "telegram": TelegramResource(bot_token=_env_or_none("IMPRESSOX_TELEGRAM_BOT_TOKEN"),
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


@contextmanager
def open_resources(*names: str) -> Iterator[Any]:
    """The named resources of `build_resources()`, set up outside a run (for the CLI and scripts), as
    attributes of the yielded object; torn down on exit."""
    import dagster as dg

    resources = build_resources()
    with dg.build_resources({name: resources[name] for name in names}) as built:
        yield built


__all__ = ["ChromaResource", "MongoResource", "RedisResource", "TelegramResource", "build_resources",
           "open_resources"]
