"""Start every local stand-in at once and tell the clients where they are.

Each entry of `STANDINS` names a module exposing `create_app(replay_dir: Path | None)` (an ASGI app)
and the environment variables that point the production clients at it (`{url}` is replaced by the
stand-in's base URL).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from impressox_pipelines.standins.server import StandInServer


@dataclass(frozen=True)
class StandInSpec:
    name: str
    module: str
    env: dict[str, str] = field(default_factory=dict)


STANDINS: tuple[StandInSpec, ...] = (
    StandInSpec("prices", "impressox_pipelines.standins.prices", {
        "IMPRESSOX_COINGECKO_URL": "{url}/api/v3", "IMPRESSOX_BINANCE_URL": "{url}",
    }),
    StandInSpec("telegram", "impressox_pipelines.standins.telegram", {"IMPRESSOX_TELEGRAM_API_URL": "{url}/bot"}),
    StandInSpec("x", "impressox_pipelines.standins.x", {
        "IMPRESSOX_X_URL": "{url}",
        "IMPRESSOX_X_ACCOUNTS_FILE": str(Path(__file__).with_name("x_demo_accounts.json")),  # demo cookies
    }),
)


@contextmanager
def running_standins(
    replay_dir: Path | None = None, *, set_environ: bool = True, only: set[str] | None = None
) -> Iterator[dict[str, str]]:
    """Start the stand-ins; yield the environment variables that point clients at them.

    With `set_environ`, the variables are also set in `os.environ` for the duration (and restored after).
    """
    env: dict[str, str] = {}
    saved = {}
    with ExitStack() as stack:
        for spec in STANDINS:
            if only is not None and spec.name not in only:
                continue
            app = importlib.import_module(spec.module).create_app(replay_dir)
            server = stack.enter_context(StandInServer(app))
            env.update({k: v.format(url=server.url) for k, v in spec.env.items()})
        if set_environ:
            saved = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
        try:
            yield env
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
