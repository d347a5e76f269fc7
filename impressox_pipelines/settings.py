"""Where the project keeps its local state, and which environment variables configure it.

Nothing here reads the environment at import time: every value is looked up when a function is
called, so tests and the demo can set variables before they build the definitions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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


class ConfigurationError(RuntimeError):
    """Raised when the environment does not describe a usable deployment."""


def data_dir() -> Path:
    """The one directory holding every embedded store (`IMPRESSOX_DATA_DIR`, default `./.impressox`)."""
    path = Path(os.environ.get(ENV_DATA_DIR) or ".impressox").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_production() -> bool:
    """True when `IMPRESSOX_ENV` is `prod` or `production` (case-insensitive)."""
    return os.environ.get(ENV_MODE, "").strip().lower() in {"prod", "production"}


def is_set(name: str) -> bool:
    """Whether an environment variable is set to a non-blank value (its value is never returned)."""
    return bool(os.environ.get(name, "").strip())


def missing_production_variables() -> list[ServiceVariable]:
    """The service variables that are unset, in declaration order."""
    return [var for var in SERVICE_VARIABLES if not is_set(var.name)]


def require_production_environment() -> None:
    """In production mode, refuse embedded defaults.

    Raises:
        ConfigurationError: naming every missing variable at once, so an operator fixes them in one go.
    """
    if not is_production():
        return
    missing = missing_production_variables()
    if missing:
        lines = "\n".join(f"  - {var.name}: {var.description} ({var.service})" for var in missing)
        raise ConfigurationError(
            f"{ENV_MODE}=prod refuses embedded defaults, but {len(missing)} variable(s) are unset:\n{lines}"
        )
