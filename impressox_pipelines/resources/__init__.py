"""Resources: one file per outside system, each with a production and an embedded implementation.

`core_resources()` is the one place where the deployment is chosen: a service whose variable is set is
configured through `dagster.EnvVar` (so the UI shows the variable's name, never its value); an unset one
falls back to its embedded default, which `IMPRESSOX_ENV=prod` forbids.
"""

from __future__ import annotations

import os

from dagster import EnvVar

from impressox_pipelines.resources.chroma import ChromaResource
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.settings import is_set, require_production_environment


def _env_or_none(name: str) -> EnvVar | None:
    return EnvVar(name) if is_set(name) else None


def core_resources() -> dict[str, object]:
    """The shared storage and messaging resources, keyed by the names assets ask for.

    Raises:
        ConfigurationError: with `IMPRESSOX_ENV=prod`, naming every unset service variable.
    """
    require_production_environment()
    return {
        "mongo": MongoResource(uri=_env_or_none("IMPRESSOX_MONGODB_URI")),
        "redis": RedisResource(url=_env_or_none("IMPRESSOX_REDIS_URL")),
        "chroma": ChromaResource(url=_env_or_none("IMPRESSOX_CHROMA_URL")),
        "telegram": TelegramResource(
            bot_token=_env_or_none("IMPRESSOX_TELEGRAM_BOT_TOKEN"),
            base_url=os.environ.get("IMPRESSOX_TELEGRAM_API_URL") or "https://api.telegram.org/bot",
        ),
    }


__all__ = ["ChromaResource", "MongoResource", "RedisResource", "TelegramResource", "core_resources"]
