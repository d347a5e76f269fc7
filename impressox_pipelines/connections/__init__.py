"""Opening the stores, without Dagster: one file per outside system (mongo, redis, chroma, telegram).

Each `*Connection` holds the configuration of one system and opens its client on first use: the
production service when its variable is set, the embedded default otherwise. The Dagster resources
(`resources/`) delegate to these classes, and the CLI and scripts open them through `open_stores()`,
so every entry point connects the same way. Nothing here imports Dagster, so a command that only
reads or writes a store starts in well under a second; each client library is imported only when its
store is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from impressox_pipelines.settings import Settings, load_settings, require_production_environment
from impressox_pipelines.variables import value_if_set

if TYPE_CHECKING:
    from impressox_pipelines.connections.chroma import ChromaConnection
    from impressox_pipelines.connections.mongo import MongoConnection
    from impressox_pipelines.connections.redis import RedisConnection
    from impressox_pipelines.connections.telegram import TelegramConnection


class Stores:
    """The stores `settings` choose, as attributes; each is connected when first used.

    `mongo`, `redis`, `chroma` and `telegram` are the `connections.*` objects of the same names (with
    `get_database()`, `get_client()`, `endpoint`, …); secrets are read from their variables when an
    attribute is first touched and never kept in `settings`.
    """

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def mongo(self) -> MongoConnection:
        from impressox_pipelines.connections.mongo import URI_VARIABLE, MongoConnection

        return MongoConnection(uri=value_if_set(URI_VARIABLE), data_dir=self.settings.store_dir())

    @cached_property
    def redis(self) -> RedisConnection:
        from impressox_pipelines.connections.redis import URL_VARIABLE, RedisConnection

        return RedisConnection(url=value_if_set(URL_VARIABLE), data_dir=self.settings.store_dir())

    @cached_property
    def chroma(self) -> ChromaConnection:
        from impressox_pipelines.connections.chroma import ChromaConnection

        return ChromaConnection(url=self.settings.chroma_url, data_dir=self.settings.store_dir())

    @cached_property
    def telegram(self) -> TelegramConnection:
        from impressox_pipelines.connections.telegram import TOKEN_VARIABLE, TelegramConnection

        return TelegramConnection(bot_token=value_if_set(TOKEN_VARIABLE), data_dir=self.settings.store_dir(),
                                  base_url=self.settings.telegram_api_url)

    def close(self) -> None:
        """Close every connection that was opened (an embedded Redis server stops when no process uses it)."""
        for name in ("redis", "mongo", "chroma"):
            connection = self.__dict__.pop(name, None)
            if connection is not None:
                connection.close()


class Deferred:
    """Stands for what `open_()` returns, calling it only when the object is first used (an attribute or an
    item: `deferred.xadd(…)`, `deferred["tweets"]`), then forwarding everything to it.

    For handing a store to code that may not touch it: a command that only reads Redis never imports or
    connects MongoDB's client, and one that only touches MongoDB never starts the embedded Redis server.
    Errors of `open_()` (`ResourceSetupError`) are raised at that first use.
    """

    def __init__(self, open_: Callable[[], Any]):
        self._open = open_
        self._target: Any = None

    def _resolve(self) -> Any:
        if self._target is None:
            self._target = self._open()
        return self._target

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resolve(), name)

    def __getitem__(self, key: Any) -> Any:
        return self._resolve()[key]


@contextmanager
def open_stores(settings: Settings | None = None) -> Iterator[Stores]:
    """The project's stores for `settings` (default: `load_settings()`), closed on exit.

    Raises:
        ConfigurationError: with `IMPRESSOX_ENV=prod`, naming every unset service variable.
        ResourceSetupError: when a store is first used and its service does not answer.
    """
    settings = settings or load_settings()
    require_production_environment()
    stores = Stores(settings)
    try:
        yield stores
    finally:
        stores.close()


__all__ = ["Deferred", "Stores", "open_stores"]
