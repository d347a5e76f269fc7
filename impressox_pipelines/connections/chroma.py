"""Chroma: a `chroma run` server by URL in production, the embedded PersistentClient by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from impressox_pipelines.connections.errors import ResourceSetupError, describe_endpoint, safe_reason

URL_VARIABLE = "IMPRESSOX_CHROMA_URL"


class ChromaConnection:
    """A chromadb client, connected (heartbeat) on first use.

    Production: `url` (e.g. `http://chroma:8000`, from `IMPRESSOX_CHROMA_URL`) opens an `HttpClient`.
    Embedded default when `url` is None: `PersistentClient` in `<data_dir>/chroma`, meant for one writing
    process at a time (the local profile runs writers with a concurrency pool of 1).

    Collections are always opened with `embedding_function=None`: Chroma's default embedding function
    downloads an ONNX model at run time, which this project never does.

    Raises:
        ResourceSetupError: on first use, when the server's heartbeat fails.
    """

    def __init__(self, url: str | None, data_dir: Path):
        self.url = url
        self.data_dir = Path(data_dir)
        self._client: Any = None

    @property
    def endpoint(self) -> str:
        """`http://host:port` or `chroma-persistent://<folder>`."""
        return describe_endpoint(self.url) if self.url else f"chroma-persistent://{self.path()}"

    def path(self) -> Path:
        """The embedded store's folder."""
        return self.data_dir / "chroma"

    def connect(self) -> Any:
        """Connect now (a no-op when connected); returns the chromadb client."""
        if self._client is not None:
            return self._client
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
                self.path().mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(self.path()), settings=settings)
            client.heartbeat()
        except Exception as exc:  # noqa: BLE001 - re-raised with a message that names the variable
            raise ResourceSetupError(
                "Chroma", URL_VARIABLE if self.url else None, self.endpoint, safe_reason(exc, self.url)
            ) from None
        self._client = client
        return client

    def get_client(self) -> Any:
        """The connected `chromadb` client (connecting on first use)."""
        return self.connect()

    def get_collection(self, name: str, metadata: dict[str, Any] | None = None) -> Any:
        """Get or create a collection without any embedding function (vectors are always supplied)."""
        return self.get_client().get_or_create_collection(name=name, metadata=metadata, embedding_function=None)

    def close(self) -> None:
        """Forget the client (chromadb clients hold no connection to close)."""
        self._client = None
