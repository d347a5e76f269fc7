"""Chroma collections that know which model filled them, and a vector store that stages its writes.

Each collection records `embedding_model` and `embedding_dimension` in its metadata (and uses cosine
distance). Vectors from another model live in another space: comparing them silently returns
nonsense, so opening a collection with a different model fails at once with `EmbeddingModelMismatch`.

`ChromaCollectionStore` is the llama-index vector store given to the `IngestionPipeline`. The
pipeline asks it to delete a changed chunk's old vector *before* embedding, and to add the new vectors
*after*. Applied as asked, a run that fails while embedding would leave the collection with holes;
so deletions are only recorded, and applied together with the upserts once every embedding of the run
exists (`add`), or at `flush()` when the run embedded nothing. Vectors are written by upsert on stable
ids, so a retried run converges to the same collection.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    VectorStoreQuery,
    VectorStoreQueryResult,
)

from impressox_pipelines.rag.metadata import check_collection_name, replacement

MODEL_KEY = "embedding_model"
DIMENSION_KEY = "embedding_dimension"
# Chroma accepts up to `client.get_max_batch_size()` records per call (5,461 on the embedded client).
WRITE_BATCH = 1000


class EmbeddingModelMismatch(RuntimeError):
    """A Chroma collection holds vectors of another model or dimension than the one configured."""


def collection_metadata(model_name: str, dimension: int) -> dict[str, Any]:
    return {MODEL_KEY: model_name, DIMENSION_KEY: dimension, "hnsw:space": "cosine"}


def open_collection(client: Any, name: str, model_name: str, dimension: int, *, create: bool = True) -> Any:
    """Get (or create) the collection `name` for vectors of `model_name` / `dimension`.

    Returns `None` when `create` is false and the collection does not exist.

    Raises:
        InvalidCollectionName: when Chroma would refuse `name` (see `metadata.check_collection_name`).
        EmbeddingModelMismatch: when the collection was filled by another model or dimension (or
            records none), with the way out: re-embed into a fresh collection.
    """
    name = check_collection_name(name)
    if create:
        collection = client.get_or_create_collection(
            name=name, metadata=collection_metadata(model_name, dimension), embedding_function=None
        )
    else:
        try:
            collection = client.get_collection(name=name, embedding_function=None)
        except Exception:  # noqa: BLE001 - chromadb raises NotFoundError or ValueError by version
            return None
    recorded = collection.metadata or {}
    stored_model, stored_dimension = recorded.get(MODEL_KEY), recorded.get(DIMENSION_KEY)
    if stored_model != model_name or stored_dimension != dimension:
        found = f"model {stored_model!r} ({stored_dimension} dimensions)" if stored_model else "no model record"
        raise EmbeddingModelMismatch(
            f"Chroma collection {name!r} holds vectors from {found}, but the configured embedding model is "
            f"{model_name!r} ({dimension} dimensions). Vectors of different models cannot be compared: "
            f"re-embed by running `impressox rag reset {name}` and materializing the embedding assets "
            f"again, or configure the model the collection was built with."
        )
    return collection


class ChromaCollectionStore(BasePydanticVectorStore):
    """A llama-index vector store over one Chroma collection, with staged deletions (see module doc).

    Node ids are the Chroma ids; `delete(ref_doc_id)` deletes the record with that id (the pipeline
    is fed chunk nodes without a parent, so each chunk is its own reference document).
    Counters: `written` (upserted records), `deleted` (records removed that were not rewritten), and
    `deleted_ids` (their ids).
    """

    stores_text: bool = True
    written: int = 0
    deleted: int = 0

    _collection: Any = PrivateAttr()
    _pending_deletes: set[str] = PrivateAttr(default_factory=set)
    _deleted_ids: set[str] = PrivateAttr(default_factory=set)

    def __init__(self, collection: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self._collection = collection

    @classmethod
    def class_name(cls) -> str:
        return "ChromaCollectionStore"

    @property
    def client(self) -> Any:
        return self._collection

    @property
    def deleted_ids(self) -> set[str]:
        return set(self._deleted_ids)

    def add(self, nodes: list[BaseNode], **add_kwargs: Any) -> list[str]:
        """Upsert the embedded nodes, each record left with exactly its node's metadata, then apply the
        recorded deletions of ids not rewritten."""
        ids = [node.node_id for node in nodes]
        for start in range(0, len(nodes), WRITE_BATCH):
            batch = nodes[start:start + WRITE_BATCH]
            batch_ids = [node.node_id for node in batch]
            stored = self.metadatas(batch_ids)
            self._collection.upsert(
                ids=batch_ids,
                embeddings=[node.get_embedding() for node in batch],
                metadatas=[replacement(stored.get(node.node_id), node.metadata) for node in batch],
                documents=[node.get_content(metadata_mode=MetadataMode.NONE) for node in batch],
            )
        self.written += len(ids)
        self._pending_deletes -= set(ids)
        self.flush()
        return ids

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Record that the record `ref_doc_id` is to go (applied by `add` or `flush`)."""
        self._pending_deletes.add(ref_doc_id)

    def flush(self) -> None:
        """Apply the recorded deletions now."""
        self.delete_ids(self._pending_deletes)
        self._pending_deletes.clear()

    def metadatas(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored metadata of those of `ids` that exist, by id."""
        found = self._collection.get(ids=ids, include=["metadatas"]) if ids else {"ids": [], "metadatas": []}
        return {node_id: meta or {} for node_id, meta in zip(found["ids"], found["metadatas"], strict=True)}

    def refresh(self, current: dict[str, dict[str, Any]], keys: tuple[str, ...]) -> int:
        """Make the `keys` of each record in `current` hold exactly `current[id]`, without re-embedding.

        `current` maps id → the values of `keys` that record must carry now (a key absent from it must
        be absent from the record). Ids not stored are ignored. Returns how many records were rewritten.
        """
        ids = sorted(current)
        refreshed = 0
        for start in range(0, len(ids), WRITE_BATCH):
            stored = self.metadatas(ids[start:start + WRITE_BATCH])
            changes = {}
            for node_id, meta in stored.items():
                wanted = current[node_id]
                if {key: meta[key] for key in keys if key in meta} != wanted:
                    changes[node_id] = {**{key: None for key in keys if key not in wanted}, **wanted}
            if changes:
                self._collection.update(ids=list(changes), metadatas=list(changes.values()))
            refreshed += len(changes)
        return refreshed

    def ids(self, where: dict[str, Any] | None = None) -> set[str]:
        """Ids of the records matching `where` (all records when `None`)."""
        return set(self._collection.get(where=where or None, include=[])["ids"])

    def delete_ids(self, ids: set[str]) -> None:
        """Delete records by id at once (used to remove orphans no docstore entry accounts for)."""
        pending = sorted(ids)
        for start in range(0, len(pending), WRITE_BATCH):
            self._collection.delete(ids=pending[start:start + WRITE_BATCH])
        self.deleted += len(pending)
        self._deleted_ids.update(pending)

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Nearest records to `query.query_embedding`; `where=` (a Chroma where-dict) filters them.

        Similarities are cosine similarities (1 − cosine distance), higher is closer.

        Raises:
            ValueError: when llama-index `MetadataFilters` are passed (give a Chroma `where` instead).
        """
        if query.filters is not None:
            raise ValueError("pass metadata filters as a Chroma where-dict: query(..., where={...})")
        count = self._collection.count()
        if count == 0:
            return VectorStoreQueryResult(nodes=[], similarities=[], ids=[])
        result = self._collection.query(
            query_embeddings=[query.query_embedding],
            n_results=min(query.similarity_top_k, count),
            where=kwargs.get("where") or None,
            include=["documents", "metadatas", "distances"],
        )
        nodes, similarities = [], []
        for node_id, text, metadata, distance in zip(
            result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0], strict=True
        ):
            nodes.append(TextNode(id_=node_id, text=text or "", metadata=metadata or {}))
            similarities.append(1.0 - float(distance))
        return VectorStoreQueryResult(nodes=nodes, similarities=similarities, ids=list(result["ids"][0]))
