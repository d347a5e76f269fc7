"""MongoDB: pymongo against a real deployment, or litemongo's file-backed store with the pymongo API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from impressox_pipelines.connections.errors import ResourceSetupError, describe_endpoint, safe_reason

URI_VARIABLE = "IMPRESSOX_MONGODB_URI"
DEFAULT_DATABASE = "impressox"


class MongoConnection:
    """A pymongo `Database`, connected on first use.

    Production: `uri` (the value of `IMPRESSOX_MONGODB_URI`) opens a `pymongo.MongoClient` and pings it
    (waiting at most `server_selection_timeout_ms`). Embedded default when `uri` is None: litemongo's
    SQLite-backed store in `<data_dir>/mongo.sqlite`, shared safely between processes (unique indexes
    hold across processes; a racing upsert can raise `DuplicateKeyError`, exactly as with a real server,
    and callers retry it).

    Only operations that a real MongoDB accepts are used, so the same code runs against both.

    Raises:
        ResourceSetupError: on first use, when the server does not answer `ping` in time (the message
            names the variable and the host, never the credentials).
    """

    def __init__(self, uri: str | None, data_dir: Path, database: str = DEFAULT_DATABASE,
                 server_selection_timeout_ms: int = 5000):
        self.uri = uri
        self.data_dir = Path(data_dir)
        self.database = database
        self.server_selection_timeout_ms = server_selection_timeout_ms
        self._client: Any = None

    @property
    def endpoint(self) -> str:
        """Where the store is, without credentials: `mongodb://host:port` or `litemongo://<file>`."""
        return describe_endpoint(self.uri) if self.uri else f"litemongo://{self.store_file()}"

    def store_file(self) -> Path:
        """The embedded store's file (its folder is created)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / "mongo.sqlite"

    def connect(self) -> Any:
        """Connect now (a no-op when connected); returns the `pymongo.MongoClient` (or litemongo's)."""
        if self._client is not None:
            return self._client
        try:
            if self.uri:
                import pymongo

                client = pymongo.MongoClient(
                    self.uri, serverSelectionTimeoutMS=self.server_selection_timeout_ms, tz_aware=True
                )
                client.admin.command("ping")
            else:
                import litemongo

                client = litemongo.connect(str(self.store_file()), tz_aware=True)
        except Exception as exc:  # noqa: BLE001 - re-raised with a message that names the variable
            raise ResourceSetupError(
                "MongoDB", URI_VARIABLE if self.uri else None, self.endpoint, safe_reason(exc, self.uri)
            ) from None
        self._client = client
        return client

    def get_database(self) -> Any:
        """The `pymongo.database.Database` (connecting on first use)."""
        return self.connect()[self.database]

    def collection(self, name: str, indexes: list[Any] | None = None) -> Any:
        """A collection, with `indexes` (pymongo `IndexModel`s) created first (idempotent: existing
        identical indexes are kept)."""
        coll = self.get_database()[name]
        if indexes:
            coll.create_indexes(indexes)
        return coll

    def close(self) -> None:
        """Close the client (a later use connects again)."""
        if self._client is not None:
            self._client.close()
            self._client = None
