"""MongoDB as a Dagster resource; the connecting is `connections.mongo.MongoConnection`'s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr
from pymongo import IndexModel

from impressox_pipelines.connections.mongo import DEFAULT_DATABASE, MongoConnection
from impressox_pipelines.settings import data_dir as default_data_dir


class MongoResource(ConfigurableResource):
    """A pymongo `Database`.

    Production: `uri` (from `EnvVar("IMPRESSOX_MONGODB_URI")`) opens a `pymongo.MongoClient` and pings it.
    Embedded default: litemongo's SQLite-backed store in `<data_dir>/mongo.sqlite`, shared safely
    between the processes Dagster starts (see `MongoConnection`).

    Only operations that a real MongoDB accepts are used, so the same code runs against both; the
    tests run against a real server too when `IMPRESSOX_TEST_MONGODB_URI` is set.

    Raises:
        ResourceSetupError: at setup, when the server does not answer `ping` in time.
    """

    uri: str | None = None
    database: str = DEFAULT_DATABASE
    data_dir: str | None = None
    server_selection_timeout_ms: int = 5000

    _connection: MongoConnection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext | None = None) -> None:
        self.connection.connect()

    def teardown_after_execution(self, context: InitResourceContext | None = None) -> None:
        self.close()

    @property
    def connection(self) -> MongoConnection:
        """The plain connection this resource delegates to (created on first use)."""
        if self._connection is None:
            self._connection = MongoConnection(
                uri=self.uri, data_dir=Path(self.data_dir) if self.data_dir else default_data_dir(),
                database=self.database, server_selection_timeout_ms=self.server_selection_timeout_ms,
            )
        return self._connection

    @property
    def endpoint(self) -> str:
        return self.connection.endpoint

    def get_database(self) -> Any:
        """The `pymongo.database.Database` (connecting on first use outside a Dagster run)."""
        return self.connection.get_database()

    def collection(self, name: str, indexes: list[IndexModel] | None = None) -> Any:
        """A collection, with `indexes` created first (idempotent: existing identical indexes are kept)."""
        return self.connection.collection(name, indexes)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
