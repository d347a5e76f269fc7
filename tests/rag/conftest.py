"""RAG fixtures: the embedding model loaded once per session, a knowledge base built once over the real
documents in ../shared/fixtures/rag_docs, and helpers that write small documents and tweets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.paths import fixtures_root
from tests.helpers.rag import close_resources, make_resources, materialize_documents


@pytest.fixture(scope="session")
def embedding_model_resource():
    """The real all-MiniLM-L6-v2, loaded once for the whole session (~700 MB, seconds to load)."""
    from impressox_pipelines.resources.embedding import EmbeddingModelResource

    resource = EmbeddingModelResource()
    resource.get_model()
    return resource


@pytest.fixture(scope="session")
def model(embedding_model_resource):
    return embedding_model_resource.get_model()


@pytest.fixture
def rag_resources(data_dir: Path, embedding_model_resource) -> Iterator[dict]:
    """Real embedded MongoDB, Redis and Chroma private to the test, and the session's model."""
    resources = make_resources(data_dir, embedding_model_resource)
    yield resources
    close_resources(resources)


@pytest.fixture(scope="session")
def fixture_kb(tmp_path_factory, embedding_model_resource) -> Iterator[dict]:
    """A knowledge base built once: ../shared/fixtures/rag_docs as the folder (read in place) and the
    built-in documents added through `document.added` backend events. Yields resources and results."""
    from impressox_pipelines.events.backend import publish_event
    from impressox_pipelines.rag.library import BUILTIN_DOCS
    from tests.helpers.events import apply_published_events

    rag_docs = fixtures_root() / "rag_docs"
    if not rag_docs.is_dir():
        pytest.skip(f"real documents {rag_docs} are absent (../shared/fixtures is not beside this checkout)")
    resources = make_resources(tmp_path_factory.mktemp("fixture-kb"), embedding_model_resource)
    client = resources["redis"].get_client()
    for path in sorted(BUILTIN_DOCS.glob("*.md")):
        publish_event(client, "document.added", {"path": str(path)})
    apply_published_events(resources["redis"], resources["mongo"])
    first = materialize_documents(resources, rag_docs)
    second = materialize_documents(resources, rag_docs)
    yield {"resources": resources, "folder": rag_docs, "first": first, "second": second}
    close_resources(resources)
