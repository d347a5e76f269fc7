"""MongoDB: pymongo against a real deployment, or litemongo's file-backed store with the pymongo API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr
from pymongo import IndexModel

from impressox_pipelines.resources.errors import ResourceSetupError, describe_endpoint, safe_reason
from impressox_pipelines.settings import data_dir as default_data_dir

URI_VARIABLE = "IMPRESSOX_MONGODB_URI"


class MongoResource(ConfigurableResource):
    """A pymongo `Database`.

    Production: `uri` (from `EnvVar("IMPRESSOX_MONGODB_URI")`) opens a `pymongo.MongoClient` and pings it.
    Embedded default: litemongo's SQLite-backed store in `<data_dir>/mongo.sqlite`, shared safely
    between the processes Dagster starts (unique indexes hold across processes; a racing upsert can
    raise `DuplicateKeyError`, exactly as with a real server, and callers retry it).

    Only operations that a real MongoDB accepts are used, so the same code runs against both; the
    tests run against a real server too when `IMPRESSOX_TEST_MONGODB_URI` is set.

    Raises:
        ResourceSetupError: at setup, when the server does not answer `ping` in time.
    """

    uri: str | None = None
    database: str = "impressox"
    data_dir: str | None = None
    server_selection_timeout_ms: int = 5000

    _client: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext | None = None) -> None:
        self._client = self.connect()

    def teardown_after_execution(self, context: InitResourceContext | None = None) -> None:
        self.close()

    @property
    def endpoint(self) -> str:
        return describe_endpoint(self.uri) if self.uri else f"litemongo://{self._store_file()}"

    def _store_file(self) -> Path:
        base = Path(self.data_dir) if self.data_dir else default_data_dir()
        base.mkdir(parents=True, exist_ok=True)
        return base / "mongo.sqlite"

    def connect(self) -> Any:
        try:
            if self.uri:
                import pymongo

                client = pymongo.MongoClient(
                    self.uri, serverSelectionTimeoutMS=self.server_selection_timeout_ms, tz_aware=True
                )
                client.admin.command("ping")
            else:
                import litemongo

                client = litemongo.connect(str(self._store_file()), tz_aware=True)
        except Exception as exc:  # noqa: BLE001 - re-raised with a message that names the variable
            raise ResourceSetupError(
                "MongoDB", URI_VARIABLE if self.uri else None, self.endpoint, safe_reason(exc, self.uri)
            ) from None
        return client

    def get_database(self) -> Any:
        """The `pymongo.database.Database` (connecting on first use outside a Dagster run)."""
        if self._client is None:
            self._client = self.connect()
        return self._client[self.database]

    def collection(self, name: str, indexes: list[IndexModel] | None = None) -> Any:
        """A collection, with `indexes` created first (idempotent: existing identical indexes are kept)."""
        coll = self.get_database()[name]
        if indexes:
            coll.create_indexes(indexes)
        return coll

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
