"""Incremental ingestion: a llama-index `IngestionPipeline` with a persisted docstore and upsert-and-delete.

The pipeline is fed nodes that already have stable ids (chunks of documents, tweets), so its
de-duplication works per chunk: an unchanged node (same id, same hash) is skipped, a changed one is
re-embedded and its vector replaced, and a node the run no longer sees has its vector deleted
(`DocstoreStrategy.UPSERTS_AND_DELETE`, within one docstore namespace).

The collection is never left half-written: `ChromaCollectionStore` writes only after every embedding
of the run is computed, so a run that fails while embedding leaves the previous vectors untouched.
The docstore is reconciled with the collection around each run, which makes a failed run self-healing:
before, entries whose vector is missing are forgotten (so they are embedded again); after, vectors
that no docstore entry accounts for are deleted (left by a run that failed after deciding to delete).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.schema import BaseNode, MetadataMode, TransformComponent

from impressox_pipelines.rag.keywords import KeywordCorpus, keyword_text
from impressox_pipelines.rag.metadata import sanitize_metadata
from impressox_pipelines.rag.store import ChromaCollectionStore


class AttachMetadata(TransformComponent):
    """Copies each node with Chroma-safe metadata plus the facts that must not trigger a re-embed.

    `extra` maps node id → metadata (a file's mtime, a tweet's engagement counts, its scam decision).
    It runs after the docstore de-duplication, and works on copies so the docstore keeps the hash of
    the stable fields.
    """

    extra: dict[str, dict[str, Any]] = {}

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[BaseNode]:
        copies = []
        for node in nodes:
            copy = node.model_copy(deep=True)
            copy.metadata = sanitize_metadata({**node.metadata, **self.extra.get(node.node_id, {})})
            copies.append(copy)
        return copies


@dataclass(frozen=True)
class IngestReport:
    """What one ingestion run did. `deleted`: vectors removed because their input is gone;
    `repaired`: docstore entries, vectors or keyword entries fixed after an earlier failed run (or
    keyword entries made for records stored before keyword retrieval); `refreshed`: unchanged records
    whose current facts (the scam decision) were rewritten without re-embedding. Times in seconds."""

    inputs: int
    embedded: int
    unchanged: int
    deleted: int
    repaired: int
    seconds: float
    refreshed: int = 0

    @property
    def seconds_per_100(self) -> float:
        """Run time per 100 embedded nodes (0 when nothing was embedded)."""
        return round(self.seconds / self.embedded * 100, 3) if self.embedded else 0.0


def merge_reports(reports: Sequence[IngestReport]) -> IngestReport:
    """The sum of several runs' reports (e.g. the days of one backfill run)."""
    return IngestReport(
        inputs=sum(r.inputs for r in reports),
        embedded=sum(r.embedded for r in reports),
        unchanged=sum(r.unchanged for r in reports),
        deleted=sum(r.deleted for r in reports),
        repaired=sum(r.repaired for r in reports),
        seconds=sum(r.seconds for r in reports),
        refreshed=sum(r.refreshed for r in reports),
    )


def ingest_nodes(
    nodes: Sequence[BaseNode],
    *,
    collection: Any,
    docstore: Any,
    embed_model: Any,
    extra_metadata: dict[str, dict[str, Any]] | None = None,
    current_metadata: dict[str, dict[str, Any]] | None = None,
    current_keys: tuple[str, ...] = (),
    scope: dict[str, Any] | None = None,
    keyword_corpus: KeywordCorpus | None = None,
) -> IngestReport:
    """Bring `collection` (within `scope`) in line with `nodes`, embedding only what changed.

    Args:
        nodes: every node that should exist in the scope after the run, with stable, unique ids.
        collection: a Chroma collection opened with `store.open_collection`.
        docstore: the docstore of this scope (`docstore.open_docstore`).
        embed_model: a llama-index embedding (`BaseEmbedding`).
        extra_metadata: node id → metadata stored in Chroma but not hashed, as of the last embed.
        current_metadata: node id → values of `current_keys` that must be current on every run (the
            scam decision): stored with the embed, and rewritten without re-embedding when they
            change; a key missing for a node is removed from its record.
        current_keys: the keys `current_metadata` owns.
        scope: Chroma where-dict selecting the records this docstore owns (a partition), or `None`
            when the docstore owns the whole collection.
        keyword_corpus: the collection's BM25 corpus, kept in step (embedded records tokenized,
            deleted ones forgotten, then reconciled with the collection's ids); `None` for none.

    Raises:
        ValueError: when two nodes share an id, or a metadata number is NaN or infinite (naming it).
        Exception: whatever the model or Chroma raises; the collection keeps its previous vectors.
    """
    started = time.monotonic()
    ids = [node.node_id for node in nodes]
    if len(set(ids)) != len(ids):
        duplicates = sorted({node_id for node_id in ids if ids.count(node_id) > 1})[:5]
        raise ValueError(f"node ids must be unique; duplicated: {duplicates}")
    current = {node_id: sanitize_metadata((current_metadata or {}).get(node_id, {})) for node_id in ids} \
        if current_keys else {}
    extra = {node_id: {**(extra_metadata or {}).get(node_id, {}), **current.get(node_id, {})} for node_id in ids}
    store = ChromaCollectionStore(collection)
    repaired = _forget_entries_without_vectors(docstore, store, scope)
    pipeline = IngestionPipeline(
        transformations=[AttachMetadata(extra=extra), embed_model],
        docstore=docstore,
        vector_store=store,
        docstore_strategy=DocstoreStrategy.UPSERTS_AND_DELETE,
        disable_cache=True,
    )
    # Sorted by length, each batch the model encodes holds texts of similar length and pads little.
    ordered = sorted(nodes, key=lambda node: len(node.get_content()))
    embedded = pipeline.run(nodes=ordered)
    store.flush()
    deleted = store.deleted
    orphans = store.ids(scope) - set(docstore.get_all_document_hashes().values())
    store.delete_ids(orphans)
    embedded_ids = {node.node_id for node in embedded}
    refreshed = store.refresh({i: m for i, m in current.items() if i not in embedded_ids}, current_keys)
    if keyword_corpus is not None:
        keyword_corpus.update(
            {node.node_id: keyword_text(node.get_content(metadata_mode=MetadataMode.NONE), node.metadata)
             for node in embedded},
            store.deleted_ids,
        )
        repaired += keyword_corpus.sync(collection)
    return IngestReport(
        inputs=len(ids),
        embedded=len(embedded),
        unchanged=len(ids) - len(embedded),
        deleted=deleted,
        repaired=repaired + len(orphans),
        seconds=round(time.monotonic() - started, 3),
        refreshed=refreshed,
    )


def _forget_entries_without_vectors(docstore: Any, store: ChromaCollectionStore, scope: dict | None) -> int:
    known = set(docstore.get_all_document_hashes().values())
    missing = known - store.ids(scope)
    for node_id in missing:
        docstore.delete_document(node_id, raise_error=False)
    return len(missing)
