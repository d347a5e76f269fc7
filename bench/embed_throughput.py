"""Embedding throughput: the asset code path vs a bare `SentenceTransformer.encode`, in the same run.

Texts: about 2,000 real posts from ../shared/fixtures/janitr_x_posts/sample.jsonl (as tweets) and about
500 chunks of the real documents in ../shared/fixtures/rag_docs (cut by the asset's splitter). The
pipeline path is `ingest_nodes` (IngestionPipeline, Redis docstore, Chroma writes) into a fresh store;
the baseline encodes exactly the strings the pipeline embeds, with the same model object and batch
size. A second pipeline run over the unchanged inputs must embed nothing.

Prints one JSON line. Targets: pipeline ≥ 90% of the bare rate; the unchanged run embeds 0 texts in
under 10% of the first run's time.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("IMPRESSOX_FIXTURES_DIR") or REPO.parent / "shared" / "fixtures")
TWEETS, CHUNKS, BATCH = 2000, 500, 64


def _tweet_documents(limit: int) -> list[dict]:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    docs = []
    for i, line in enumerate((FIXTURES / "janitr_x_posts" / "sample.jsonl").read_text().splitlines()):
        row = json.loads(line)
        created = start + timedelta(minutes=i)
        docs.append({"_id": f"b{i}", "author_handle": "sample", "author_id": "1", "text": row["text"],
                     "created_at": created, "partition_date": created.strftime("%Y-%m-%d"), "like_count": i})
    return docs


def main() -> int:
    sys.path.insert(0, str(REPO))
    from llama_index.core.schema import MetadataMode

    from impressox_pipelines.rag.chunking import chunk_document, make_splitter
    from impressox_pipelines.rag.docstore import namespace, open_docstore
    from impressox_pipelines.rag.documents import discover_files, load_document
    from impressox_pipelines.rag.embedding import load_embedding_model
    from impressox_pipelines.rag.ingest import ingest_nodes
    from impressox_pipelines.rag.store import open_collection
    from impressox_pipelines.rag.tweets import tweet_nodes
    from impressox_pipelines.resources.chroma import ChromaResource
    from impressox_pipelines.resources.redis import RedisResource

    if not (FIXTURES / "rag_docs").is_dir() or not (FIXTURES / "janitr_x_posts").is_dir():
        print(json.dumps({"benchmark": "embed_throughput", "error": f"fixtures absent under {FIXTURES}"}))
        return 1
    model = load_embedding_model(batch_size=BATCH)
    tweets, tweet_extra, _ = tweet_nodes(_tweet_documents(TWEETS + 500))
    tweets = tweets[:TWEETS]
    splitter = make_splitter(model.tokenize)
    files, _ = discover_files(FIXTURES / "rag_docs")
    chunks = [node for path in files for node in chunk_document(load_document(path).to_record(), splitter)]
    chunks = chunks[:CHUNKS]
    texts = [node.get_content(metadata_mode=MetadataMode.EMBED) for node in tweets + chunks]
    encoder = model.sentence_transformer
    encoder.encode(texts[:64], batch_size=BATCH)  # warm-up: first-call allocations are nobody's cost

    data = Path(tempfile.mkdtemp(prefix="embed-bench-"))
    chroma, redis = ChromaResource(data_dir=str(data)), RedisResource(data_dir=str(data))
    client, rclient = chroma.get_client(), redis.get_client()

    def pipeline_run() -> tuple[float, int]:
        started = time.perf_counter()
        embedded = 0
        for name, nodes, extra in (("bench_tweets", tweets, tweet_extra), ("bench_documents", chunks, {})):
            collection = open_collection(client, name, model.name, model.dimension)
            report = ingest_nodes(nodes, collection=collection, docstore=open_docstore(rclient, namespace(name)),
                                  embed_model=model.embed_model, extra_metadata=extra)
            embedded += report.embedded
        return time.perf_counter() - started, embedded

    def bare_run() -> float:
        started = time.perf_counter()
        encoder.encode(texts, batch_size=BATCH, normalize_embeddings=True)
        return time.perf_counter() - started

    # Bare runs before and after the pipeline: the machine is shared, and averaging them cancels drift.
    bare_before = bare_run()
    first_s, first_embedded = pipeline_run()
    bare_after = bare_run()
    second_s, second_embedded = pipeline_run()
    redis.close()
    bare_s = (bare_before + bare_after) / 2
    pipeline_rate, bare_rate = first_embedded / first_s, len(texts) / bare_s
    print(json.dumps({
        "benchmark": "embed_throughput",
        "texts": len(texts),
        "tweets": len(tweets),
        "document_chunks": len(chunks),
        "pipeline_texts_per_s": round(pipeline_rate, 1),
        "bare_texts_per_s": round(bare_rate, 1),
        "ratio": round(pipeline_rate / bare_rate, 3),
        "bare_runs_s": [round(bare_before, 2), round(bare_after, 2)],
        "first_run_s": round(first_s, 2),
        "first_run_embedded": first_embedded,
        "second_run_s": round(second_s, 3),
        "second_run_embedded": second_embedded,
        "second_run_fraction": round(second_s / first_s, 4),
        "target": "ratio >= 0.9; second run embeds 0 texts in < 10% of the first run's time",
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
