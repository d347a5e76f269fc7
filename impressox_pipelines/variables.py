"""The environment variables that select production services, and whether one is set.

Standard library only: the log formatter and the secret redaction (which production's `dagster.yaml`
loads before anything else) import it, and so does `settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_DATA_DIR = "IMPRESSOX_DATA_DIR"
ENV_MODE = "IMPRESSOX_ENV"


@dataclass(frozen=True)
class ServiceVariable:
    """An environment variable that switches one resource from its embedded default to production."""

    name: str
    service: str
    secret: bool
    description: str


# The variables that select production services. In `IMPRESSOX_ENV=prod` every one must be set.
SERVICE_VARIABLES: tuple[ServiceVariable, ...] = (
    ServiceVariable(
        "IMPRESSOX_MONGODB_URI", "MongoDB", True, "mongodb:// or mongodb+srv:// URI of the MongoDB deployment"
    ),
    ServiceVariable("IMPRESSOX_REDIS_URL", "Redis", True, "redis:// or rediss:// URL of the Redis server"),
    ServiceVariable("IMPRESSOX_CHROMA_URL", "Chroma", False, "http(s):// URL of a `chroma run` server"),
    ServiceVariable("IMPRESSOX_TELEGRAM_BOT_TOKEN", "Telegram", True, "Bot API token from @BotFather"),
)


def is_set(name: str) -> bool:
    """Whether an environment variable is set to a non-blank value (its value is never returned)."""
    return bool(os.environ.get(name, "").strip())


def value_if_set(name: str) -> str | None:
    """The variable's value when it is set to a non-blank value, else None.

    Read when called, never at import time. For opening a service outside Dagster (`connections`); the
    Dagster resources receive the same variable as `dagster.EnvVar` instead, so the UI shows its name only.
    """
    return os.environ[name] if is_set(name) else None
