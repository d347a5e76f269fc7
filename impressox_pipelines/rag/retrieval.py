"""Retrieval: the passages nearest to a question, across the knowledge base's collections.

`retrieve(query, k, filters, client=..., model=...)` is what the ImpressoX agent calls (with a
chromadb client and the loaded embedding model) and what `impressox rag query` prints. Scores are
cosine similarities in [-1, 1], higher is closer; results from the documents and tweets collections
are merged by score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from llama_index.core.vector_stores.types import VectorStoreQuery

from impressox_pipelines.rag.defaults import DOCUMENTS_COLLECTION, TWEETS_COLLECTION
from impressox_pipelines.rag.store import ChromaCollectionStore, open_collection

DEFAULT_COLLECTIONS = (DOCUMENTS_COLLECTION, TWEETS_COLLECTION)


@dataclass(frozen=True)
class RetrievedChunk:
    """One retrieved passage: `source` is a file path, a URL or a tweet link."""

    id: str
    text: str
    score: float
    source: str
    title: str
    collection: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def chroma_where(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """A Chroma where-dict from simple filters.

    `{"kind": "tweet"}` → equality; a list value → `$in`; a dict value (`{"$gte": 1700000000}`) is
    passed as the operator expression; keys starting with `$` (`$and`, `$or`) are passed through.
    Several keys are combined with `$and`.
    """
    if not filters:
        return None
    clauses = []
    for key, value in filters.items():
        if key.startswith("$") or isinstance(value, dict):
            clauses.append({key: value})
        elif isinstance(value, list | tuple | set):
            clauses.append({key: {"$in": list(value)}})
        else:
            clauses.append({key: value})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def retrieve(
    query: str,
    k: int = 5,
    filters: dict[str, Any] | None = None,
    *,
    client: Any,
    model: Any,
    collections: Sequence[str] = DEFAULT_COLLECTIONS,
) -> list[RetrievedChunk]:
    """The `k` passages closest to `query`, best first.

    Args:
        query: the question (non-blank).
        k: how many passages (1–100).
        filters: metadata filters (see `chroma_where`), applied in every collection.
        client: a chromadb client.
        model: an `embedding.EmbeddingModel`; must be the model the collections were built with.
        collections: collection names to search; missing ones are ignored.

    Raises:
        ValueError: for a blank query or `k` out of range.
        EmbeddingModelMismatch: when a collection was built with another model.
    """
    if not query or not query.strip():
        raise ValueError("query must not be blank")
    if not 1 <= k <= 100:
        raise ValueError(f"k must be between 1 and 100, got {k}")
    where = chroma_where(filters)
    embedding = model.embed_model.get_query_embedding(query.strip())
    chunks: list[RetrievedChunk] = []
    for name in collections:
        collection = open_collection(client, name, model.name, model.dimension, create=False)
        if collection is None:
            continue
        result = ChromaCollectionStore(collection).query(
            VectorStoreQuery(query_embedding=embedding, similarity_top_k=k), where=where
        )
        for node, score in zip(result.nodes, result.similarities, strict=True):
            metadata = dict(node.metadata)
            chunks.append(
                RetrievedChunk(
                    id=node.node_id,
                    text=node.get_content(),
                    score=round(score, 4),
                    source=str(metadata.get("source", node.node_id)),
                    title=str(metadata.get("title", "")),
                    collection=collection.name,
                    metadata=metadata,
                )
            )
    chunks.sort(key=lambda chunk: chunk.score, reverse=True)
    return chunks[:k]
