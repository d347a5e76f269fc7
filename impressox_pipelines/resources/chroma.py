"""Chroma as a Dagster resource; the connecting is `connections.chroma.ChromaConnection`'s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from impressox_pipelines.connections.chroma import ChromaConnection
from impressox_pipelines.settings import data_dir as default_data_dir


class ChromaResource(ConfigurableResource):
    """A chromadb client.

    Production: `url` (from `IMPRESSOX_CHROMA_URL`, e.g. `http://chroma:8000`) opens an `HttpClient`.
    Embedded default: `PersistentClient` in `<data_dir>/chroma`, meant for one writing process at a time
    (the local profile runs writers with a concurrency pool of 1).

    Collections are always opened with `embedding_function=None`: Chroma's default embedding function
    downloads an ONNX model at run time, which this project never does. Vectors come from the
    embedding model resource.

    Raises:
        ResourceSetupError: at setup, when the server's heartbeat fails.
    """

    url: str | None = None
    data_dir: str | None = None

    _connection: ChromaConnection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext | None = None) -> None:
        self.connection.connect()

    def teardown_after_execution(self, context: InitResourceContext | None = None) -> None:
        if self._connection is not None:
            self._connection.close()

    @property
    def connection(self) -> ChromaConnection:
        """The plain connection this resource delegates to (created on first use)."""
        if self._connection is None:
            self._connection = ChromaConnection(
                url=self.url, data_dir=Path(self.data_dir) if self.data_dir else default_data_dir()
            )
        return self._connection

    @property
    def endpoint(self) -> str:
        return self.connection.endpoint

    def get_client(self) -> Any:
        """The connected `chromadb` client (connecting on first use outside a Dagster run)."""
        return self.connection.get_client()

    def get_collection(self, name: str, metadata: dict[str, Any] | None = None) -> Any:
        """Get or create a collection without any embedding function (vectors are always supplied)."""
        return self.connection.get_collection(name, metadata)
