"""Chroma: a `chroma run` server by URL in production, the embedded PersistentClient by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from impressox_pipelines.resources.errors import ResourceSetupError, describe_endpoint, safe_reason
from impressox_pipelines.settings import data_dir as default_data_dir

URL_VARIABLE = "IMPRESSOX_CHROMA_URL"


class ChromaResource(ConfigurableResource):
    """A chromadb client.

    Production: `url` (from `EnvVar("IMPRESSOX_CHROMA_URL")`, e.g. `http://chroma:8000`) opens an
    `HttpClient`. Embedded default: `PersistentClient` in `<data_dir>/chroma`, meant for one writing
    process at a time (the local profile runs writers with a concurrency pool of 1).

    Collections are always opened with `embedding_function=None`: Chroma's default embedding function
    downloads an ONNX model at run time, which this project never does. Vectors come from the
    embedding model resource.

    Raises:
        ResourceSetupError: at setup, when the server's heartbeat fails.
    """

    url: str | None = None
    data_dir: str | None = None

    _client: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext | None = None) -> None:
        self._client = self.connect()

    def teardown_after_execution(self, context: InitResourceContext | None = None) -> None:
        self._client = None

    @property
    def endpoint(self) -> str:
        return describe_endpoint(self.url) if self.url else f"chroma-persistent://{self._path()}"

    def _path(self) -> Path:
        base = Path(self.data_dir) if self.data_dir else default_data_dir()
        return base / "chroma"

    def connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        try:
            if self.url:
                parts = urlsplit(self.url)
                client = chromadb.HttpClient(
                    host=parts.hostname or "127.0.0.1",
                    port=parts.port or (443 if parts.scheme == "https" else 8000),
                    ssl=parts.scheme == "https",
                    settings=settings,
                )
            else:
                self._path().mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(self._path()), settings=settings)
            client.heartbeat()
        except Exception as exc:  # noqa: BLE001 - re-raised with a message that names the variable
            raise ResourceSetupError(
                "Chroma", URL_VARIABLE if self.url else None, self.endpoint, safe_reason(exc, self.url)
            ) from None
        return client

    def get_client(self) -> Any:
        """The connected `chromadb` client (connecting on first use outside a Dagster run)."""
        if self._client is None:
            self._client = self.connect()
        return self._client

    def get_collection(self, name: str, metadata: dict[str, Any] | None = None) -> Any:
        """Get or create a collection without any embedding function (vectors are always supplied)."""
        return self.get_client().get_or_create_collection(
            name=name, metadata=metadata, embedding_function=None
        )
