"""Retrieval: the passages that answer a question, across the knowledge base's collections.

`retrieve(query, k, filters, client=..., model=..., redis=...)` is what the ImpressoX agent calls and
what `impressox rag query` prints. Two retrievers run over the same collections and filters:

- dense: cosine similarity of the query's embedding to the stored vectors (Chroma);
- keyword: BM25 over the crypto-aware tokens of each record (`keywords`), searched as one corpus.

Their rankings are fused (`Fusion`): reciprocal-rank fusion by default (each list contributes
1 / (rrf_k + rank)), or a weighted sum of min-max-normalised scores. Exact terms (`$ARB`, `0x…`,
`@handles`, block numbers, dates) are found by the keyword side, paraphrases by the dense side.

Posts that the airdrop detector flagged as scams are left out unless `include_flagged=True`; then
they come back marked (`RetrievedChunk.flagged`, `flag_reasons`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from impressox_pipelines.rag.keywords import keyword_index, tokenize
from impressox_pipelines.rag.metadata import DOCUMENT_FIELDS, TWEET_FIELDS, check_collection_name
from impressox_pipelines.rag.scam import NOT_FLAGGED, SCAM_KEYS, flag_reasons
from impressox_pipelines.stores import DOCUMENT_VECTORS_COLLECTION, TWEET_VECTORS_COLLECTION

DEFAULT_COLLECTIONS = (DOCUMENT_VECTORS_COLLECTION, TWEET_VECTORS_COLLECTION)
# all-MiniLM-L6-v2 reads 256 word pieces (~1,000 characters); a longer "query" is a pasted document.
MAX_QUERY_CHARS = 2000
# Metadata fields a filter may name: a filter on any other field would silently match nothing.
FILTER_FIELDS = frozenset((*DOCUMENT_FIELDS, *TWEET_FIELDS, *SCAM_KEYS))
Mode = Literal["hybrid", "dense", "keyword"]


@dataclass(frozen=True)
class Fusion:
    """How the dense and keyword rankings are combined.

    `method`: "rrf" (reciprocal-rank fusion, score = Σ 1 / (rrf_k + rank)) or "weighted" (score =
    dense_weight × normalised cosine + (1 − dense_weight) × normalised BM25, each min-max normalised
    over its own candidates; a candidate missing from a list scores 0 there).

    Raises:
        ValueError: for an unknown method, `rrf_k` < 1 or `dense_weight` outside [0, 1].
    """

    method: Literal["rrf", "weighted"] = "rrf"
    rrf_k: int = 60
    dense_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.method not in ("rrf", "weighted"):
            raise ValueError(f"fusion method must be 'rrf' or 'weighted', got {self.method!r}")
        if self.rrf_k < 1:
            raise ValueError(f"rrf_k must be at least 1, got {self.rrf_k}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError(f"dense_weight must be between 0 and 1, got {self.dense_weight}")


@dataclass(frozen=True)
class RetrievedChunk:
    """One retrieved passage: `source` is a file path, a URL or a tweet link.

    `score` ranks the results: the fused score in hybrid mode, the cosine similarity in dense mode,
    the BM25 score in keyword mode. `dense_score` (cosine, [-1, 1]) and `keyword_score` (BM25, > 0)
    are each `None` when that retriever did not return the passage.
    """

    id: str
    text: str
    score: float
    source: str
    title: str
    collection: str
    metadata: dict[str, Any] = field(default_factory=dict)
    dense_score: float | None = None
    keyword_score: float | None = None

    @property
    def flagged(self) -> bool:
        """Whether the airdrop detector flagged this post as a scam."""
        return self.metadata.get("scam_flag") is True

    @property
    def flag_reasons(self) -> list[str]:
        return flag_reasons(self.metadata)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flagged": self.flagged, "flag_reasons": self.flag_reasons}


def check_query(query: str) -> str:
    """The query, stripped.

    Raises:
        ValueError: when it is blank, longer than `MAX_QUERY_CHARS`, or holds characters that are not
            valid Unicode text (undecodable bytes passed through as surrogates).
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query must not be blank")
    query = query.strip()
    if len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"query is {len(query):,} characters; at most {MAX_QUERY_CHARS:,} are accepted "
                         f"(ask a question, do not paste a document)")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"query is not valid UTF-8 text (undecodable byte at character {exc.start})") from None
    return query


def _fields(where: dict[str, Any]) -> set[str]:
    fields = set()
    for key, value in where.items():
        if key in ("$and", "$or"):
            for clause in value if isinstance(value, list) else []:
                fields |= _fields(clause) if isinstance(clause, dict) else set()
        elif not key.startswith("$"):
            fields.add(key)
    return fields


def chroma_where(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """A Chroma where-dict from simple filters.

    `{"kind": "tweet"}` → equality; a list value → `$in`; a dict value (`{"$gte": 1700000000}`) is
    passed as the operator expression; keys starting with `$` (`$and`, `$or`) are passed through.
    Several keys are combined with `$and`.

    Raises:
        ValueError: naming them, when filters name fields no record carries (`FILTER_FIELDS`).
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
    where = clauses[0] if len(clauses) == 1 else {"$and": clauses}
    unknown = sorted(_fields(where) - FILTER_FIELDS)
    if unknown:
        raise ValueError(f"no stored passage has the field(s) {', '.join(map(repr, unknown))}; "
                         f"filterable fields: {', '.join(sorted(FILTER_FIELDS))}")
    return where


def _and(*clauses: dict[str, Any] | None) -> dict[str, Any] | None:
    present = [clause for clause in clauses if clause]
    return None if not present else present[0] if len(present) == 1 else {"$and": present}


def collection_sizes(client: Any, collections: Sequence[str] = DEFAULT_COLLECTIONS) -> dict[str, int]:
    """Records per collection (0 for a missing one), without loading any model.

    Raises:
        InvalidCollectionName: for a name Chroma would refuse.
    """
    sizes = {}
    for name in map(check_collection_name, collections):
        try:
            sizes[name] = client.get_collection(name=name, embedding_function=None).count()
        except Exception:  # noqa: BLE001 - chromadb raises NotFoundError or ValueError by version
            sizes[name] = 0
    return sizes


@dataclass
class Candidate:
    """A passage found by one retriever (or both, once fused); scores and 1-based ranks per side."""

    collection: str
    id: str
    text: str
    metadata: dict[str, Any]
    dense_score: float | None = None
    keyword_score: float | None = None
    dense_rank: int | None = None
    keyword_rank: int | None = None


def _dense(query: str, collections: dict[str, Any], where: dict | None, depth: int, model: Any) -> list[Candidate]:
    # llama-index (~1.5 s to import) only where vectors are searched: checking a query or counting an
    # empty store needs none of it.
    from llama_index.core.vector_stores.types import VectorStoreQuery

    from impressox_pipelines.rag.store import ChromaCollectionStore

    embedding = model.embed_model.get_query_embedding(query)
    found = []
    for name, collection in collections.items():
        result = ChromaCollectionStore(collection).query(
            VectorStoreQuery(query_embedding=embedding, similarity_top_k=depth), where=where
        )
        for node, score in zip(result.nodes, result.similarities, strict=True):
            found.append(Candidate(name, node.node_id, node.get_content(), dict(node.metadata), dense_score=score))
    found.sort(key=lambda c: -c.dense_score)
    return found[:depth]


def _keyword(query: str, collections: dict[str, Any], where: dict | None, depth: int, redis: Any) -> list[Candidate]:
    tokens = tokenize(query)
    if not tokens:
        return []
    index = keyword_index(redis, list(collections))
    kept: list[Candidate] = []
    checked, wanted = 0, depth * 4
    while True:
        hits = index.search(tokens, wanted)
        batch = hits[checked:]
        # The filters are applied by Chroma itself, so both retrievers filter alike; ids the corpus
        # still lists but Chroma no longer holds drop out here too.
        for name in dict.fromkeys(hit.collection for hit in batch):
            ids = [hit.id for hit in batch if hit.collection == name]
            got = collections[name].get(ids=ids, where=where, include=["documents", "metadatas"])
            rows = {i: (t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}
            for hit in batch:
                if hit.collection == name and hit.id in rows:
                    text, metadata = rows[hit.id]
                    kept.append(Candidate(name, hit.id, text or "", metadata or {}, keyword_score=hit.score))
        checked = len(hits)
        if len(kept) >= depth or len(hits) < wanted:
            break
        wanted *= 4
    kept.sort(key=lambda c: -c.keyword_score)
    return kept[:depth]


def _normalised(values: dict[tuple, float]) -> dict[tuple, float]:
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    return {key: 1.0 if high == low else (value - low) / (high - low) for key, value in values.items()}


def fuse(dense: list[Candidate], keyword: list[Candidate], fusion: Fusion) -> list[tuple[Candidate, float]]:
    """Dense and keyword candidates (each best first) merged into one ranking: `(candidate, score)`,
    best first, the score being that of `fusion.method` (see `Fusion`)."""
    merged: dict[tuple, Candidate] = {}
    for rank, candidate in enumerate(dense, start=1):
        merged[(candidate.collection, candidate.id)] = candidate
        candidate.dense_rank = rank
    for rank, candidate in enumerate(keyword, start=1):
        key = (candidate.collection, candidate.id)
        if key in merged:
            merged[key].keyword_score, merged[key].keyword_rank = candidate.keyword_score, rank
        else:
            candidate.keyword_rank = rank
            merged[key] = candidate
    rrf = {
        key: sum(1.0 / (fusion.rrf_k + rank) for rank in (c.dense_rank, c.keyword_rank) if rank is not None)
        for key, c in merged.items()
    }
    dense_norm = _normalised({k: c.dense_score for k, c in merged.items() if c.dense_score is not None})
    keyword_norm = _normalised({k: c.keyword_score for k, c in merged.items() if c.keyword_score is not None})
    weighted = {
        key: fusion.dense_weight * dense_norm.get(key, 0.0) + (1 - fusion.dense_weight) * keyword_norm.get(key, 0.0)
        for key in merged
    }
    # Each method breaks its ties with the other: two lists often give RRF exact ties (1st + 2nd vs
    # 2nd + 1st), which the score margins settle.
    scores, tie_break = (rrf, weighted) if fusion.method == "rrf" else (weighted, rrf)
    last = len(merged) + 1
    order = sorted(merged, key=lambda key: (
        -scores[key], -tie_break[key], merged[key].dense_rank or last, merged[key].keyword_rank or last, key))
    return [(merged[key], scores[key]) for key in order]


def retrieve(
    query: str,
    k: int = 5,
    filters: dict[str, Any] | None = None,
    *,
    client: Any,
    model: Any = None,
    redis: Any = None,
    collections: Sequence[str] = DEFAULT_COLLECTIONS,
    mode: Mode = "hybrid",
    fusion: Fusion = Fusion(),
    include_flagged: bool = False,
) -> list[RetrievedChunk]:
    """The `k` passages that best answer `query`, best first.

    Args:
        query: the question (non-blank, at most `MAX_QUERY_CHARS` characters).
        k: how many passages (1–100).
        filters: metadata filters (see `chroma_where`), applied in every collection by both retrievers.
        client: a chromadb client.
        model: an `embedding.EmbeddingModel` (dense and hybrid modes); must be the model the
            collections were built with.
        redis: a Redis client of the server holding the keyword corpora (keyword and hybrid modes).
        collections: collection names to search; missing or empty ones are ignored.
        mode: "hybrid" (default), "dense" or "keyword".
        fusion: how hybrid mode combines the two rankings.
        include_flagged: also return posts flagged as scams (marked by `RetrievedChunk.flagged`).

    Returns an empty list, without using the model, when no collection holds a record.

    Raises:
        ValueError: for a bad query (see `check_query`), `k` out of range, an unknown mode, a filter
            on an unknown field, or a missing `model` / `redis` that the mode needs.
        EmbeddingModelMismatch: when a collection was built with another model (dense and hybrid).
    """
    query = check_query(query)
    if not 1 <= k <= 100:
        raise ValueError(f"k must be between 1 and 100, got {k}")
    if mode not in ("hybrid", "dense", "keyword"):
        raise ValueError(f"mode must be 'hybrid', 'dense' or 'keyword', got {mode!r}")
    if mode != "keyword" and model is None:
        raise ValueError(f"{mode} retrieval needs the embedding model")
    if mode != "dense" and redis is None:
        raise ValueError(f"{mode} retrieval needs the Redis client holding the keyword corpus")
    where = _and(chroma_where(filters), None if include_flagged else NOT_FLAGGED)
    sizes = collection_sizes(client, collections)
    if not any(sizes.values()):
        return []
    opened = {}
    for name in (name for name, size in sizes.items() if size):
        if model is not None:
            from impressox_pipelines.rag.store import open_collection

            opened[name] = open_collection(client, name, model.name, model.dimension, create=False)
        else:
            opened[name] = client.get_collection(name=name, embedding_function=None)
    # Each retriever hands fusion a deeper list than asked: a passage ranked 12th by one and 2nd by
    # the other should still win.
    depth = max(4 * k, 20)
    dense = _dense(query, opened, where, depth, model) if mode != "keyword" else []
    keyword = _keyword(query, opened, where, depth, redis) if mode != "dense" else []
    if mode == "hybrid":
        ranked = fuse(dense, keyword, fusion)
    else:
        ranked = [(c, c.dense_score if mode == "dense" else c.keyword_score) for c in dense or keyword]
    return [
        RetrievedChunk(
            id=c.id,
            text=c.text,
            score=round(score, 6),
            source=str(c.metadata.get("source", c.id)),
            title=str(c.metadata.get("title", "")),
            collection=c.collection,
            metadata=c.metadata,
            dense_score=None if c.dense_score is None else round(c.dense_score, 6),
            keyword_score=None if c.keyword_score is None else round(c.keyword_score, 6),
        )
        for c, score in ranked[:k]
    ]
