"""The project's settings: one object, read from the environment (`IMPRESSOX_*`) when asked for.

`load_settings()` is the one way every entry point — the code location (UI, daemon, runs), the CLI,
the demo and the tests — learns where the stores are and which services to use; `resources.build_resources`
turns it into resources. Nothing here reads the environment at import time, so tests and the demo can
set variables before they build the definitions. Secret values are never kept here: a secret field only
says whether its variable is set, and resources receive the variable through `dagster.EnvVar`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from impressox_pipelines.variables import ENV_MODE, SERVICE_VARIABLES, ServiceVariable, is_set


class ConfigurationError(RuntimeError):
    """Raised when the environment does not describe a usable deployment."""


class Settings(BaseSettings):
    """Every setting of the project; each field is read from `IMPRESSOX_<FIELD>` (blank = unset).

    Secret fields (`*_set`) hold only whether the variable is set. Intervals are in seconds.

    Raises:
        pydantic.ValidationError: at construction, naming the variable whose value is unusable.
    """

    model_config = SettingsConfigDict(env_prefix="IMPRESSOX_", env_ignore_empty=True, extra="ignore")

    env: str = Field("", description="`prod` refuses embedded defaults")
    data_dir: Path = Field(Path(".impressox"), description="folder of every embedded store")
    chroma_url: str | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    coingecko_url: str | None = None
    binance_url: str | None = None
    coingecko_api_plan: str = "demo"
    price_poll_interval_s: int = Field(60, ge=1)
    price_rule_interval_s: int = Field(10, ge=1)
    x_url: str = "https://x.com"
    x_backend: str = "browser"
    chromium_path: str = "/usr/bin/chromium"
    embedding_model_path: str | None = None
    event_sensor_interval_s: int = Field(5, ge=1)
    event_batch_size: int = Field(1000, ge=1, le=100_000)
    event_redo_after_s: float = Field(30.0, gt=0)
    event_max_wait_s: float = Field(0.0, ge=0)
    partitions_start: date = Field(date(2025, 1, 1), description="first day (UTC) of the daily partitions")

    @field_validator("env")
    @classmethod
    def _mode(cls, value: str) -> str:
        return value.strip().lower()

    @property
    def production(self) -> bool:
        return self.env in {"prod", "production"}

    def store_dir(self) -> Path:
        """`data_dir`, absolute and created."""
        path = self.data_dir.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path


def load_settings() -> Settings:
    """The settings as the environment gives them now."""
    return Settings()


def data_dir() -> Path:
    """The one directory holding every embedded store (`IMPRESSOX_DATA_DIR`, default `./.impressox`)."""
    return load_settings().store_dir()


def is_production() -> bool:
    """True when `IMPRESSOX_ENV` is `prod` or `production` (case-insensitive)."""
    return load_settings().production


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
        # The first line names them all: a one-line report (doctor, a log line) keeps only that line.
        names = ", ".join(var.name for var in missing)
        lines = "\n".join(f"  - {var.name}: {var.description} ({var.service})" for var in missing)
        raise ConfigurationError(
            f"{ENV_MODE}=prod refuses embedded defaults, but {len(missing)} variable(s) are unset: {names}\n{lines}"
        )
