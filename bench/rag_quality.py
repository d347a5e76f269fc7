"""Retrieval quality: dense-only, keyword-only and hybrid side by side on the golden questions, by passage.

The knowledge base is built the way the assets build it (documents loaded, cut by the default splitter,
ingested through `ingest_nodes` with the keyword corpus) from the built-in documents and the real
documents in ../shared/fixtures/rag_docs (read in place), in a fresh store (or in `--data DIR`, reused
incrementally). Each golden question counts as a hit only when a passage of an expected document
holding the question's phrase is in the top 5; MRR is the mean reciprocal rank of that passage (0 for
a miss). Latency is one `retrieve` call with the model loaded and the keyword index built (after one
warm-up query), per question: wall-clock median and 95th percentile, and the median CPU time of the
process (the machine is shared: wall time also measures the neighbours), in milliseconds.

Prints a readable table, then one JSON line. Targets: hybrid hit@5 ≥ 0.95 and never below dense-only;
hybrid median latency ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
FIXTURES = REPO.parent / "shared" / "fixtures"
MODES = ("dense", "keyword", "hybrid")
K = 5


def build(data: Path):
    """The documents collection over the built-in and real documents; returns (client, redis, model, sources)."""
    from impressox_pipelines.rag.chunking import chunk_document, make_splitter
    from impressox_pipelines.rag.defaults import DOCUMENT_VECTORS_COLLECTION
    from impressox_pipelines.rag.docstore import namespace, open_docstore
    from impressox_pipelines.rag.embedding import load_embedding_model
    from impressox_pipelines.rag.ingest import ingest_nodes
    from impressox_pipelines.rag.keywords import KeywordCorpus
    from impressox_pipelines.rag.library import BUILTIN_DOCS, collect_documents
    from impressox_pipelines.rag.store import open_collection
    from impressox_pipelines.resources.chroma import ChromaResource
    from impressox_pipelines.resources.redis import RedisResource

    model = load_embedding_model()
    client = ChromaResource(data_dir=str(data)).get_client()
    redis = RedisResource(data_dir=str(data)).get_client()
    documents = []
    for folder in (BUILTIN_DOCS, FIXTURES / "rag_docs"):
        documents += collect_documents(folder, {}, 2_000_000)[0]
    splitter = make_splitter(model.tokenize)
    nodes = [node for document in documents for node in chunk_document(document.to_record(), splitter)]
    collection = open_collection(client, DOCUMENT_VECTORS_COLLECTION, model.name, model.dimension)
    report = ingest_nodes(nodes, collection=collection, docstore=open_docstore(redis, namespace(collection.name)),
                          embed_model=model.embed_model, keyword_corpus=KeywordCorpus(redis, collection.name))
    print(f"knowledge base: {len(documents)} documents, {len(nodes)} chunks ({report.embedded} embedded now)",
          file=sys.stderr)
    return client, redis, model, [document.source for document in documents]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="store folder to reuse (default: a fresh temporary one)")
    args = parser.parse_args()
    if not (FIXTURES / "rag_docs").is_dir():
        print(json.dumps({"benchmark": "rag_quality", "error": f"fixtures absent under {FIXTURES}"}))
        return 1
    from impressox_pipelines.rag.defaults import DOCUMENT_VECTORS_COLLECTION
    from impressox_pipelines.rag.golden import evaluate, load_golden_questions
    from impressox_pipelines.rag.retrieval import retrieve

    data = args.data or Path(tempfile.mkdtemp(prefix="rag-quality-"))
    data.mkdir(parents=True, exist_ok=True)
    client, redis, model, sources = build(data)
    questions = load_golden_questions()
    figures, misses = {}, {}
    for mode in MODES:
        timings: list[float] = []
        cpu: list[float] = []

        def search(question: str, k: int, mode: str = mode, timings: list[float] = timings, cpu: list[float] = cpu):
            started, cpu_started = time.perf_counter(), time.process_time()
            chunks = retrieve(question, k, client=client, model=model, redis=redis, mode=mode,
                              collections=[DOCUMENT_VECTORS_COLLECTION])
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            return chunks

        search("warm-up: what is an airdrop?", K)
        timings.clear()
        cpu.clear()
        evaluation = evaluate(questions, search, sources, k=K)
        figures[mode] = {
            "hit_at_5": round(evaluation.hit_rate, 3),
            "mrr": round(evaluation.mrr, 3),
            "median_ms": round(statistics.median(timings), 1),
            "p95_ms": round(sorted(timings)[int(0.95 * (len(timings) - 1))], 1),
            "cpu_median_ms": round(statistics.median(cpu), 1),
        }
        misses[mode] = [r.question for r in evaluation.results if not r.hit]
        questions_count = len(evaluation.results)
    hybrid, dense = figures["hybrid"], figures["dense"]
    passed = hybrid["hit_at_5"] >= 0.95 and hybrid["hit_at_5"] >= dense["hit_at_5"] and hybrid["median_ms"] <= 150
    print(f"{'mode':<8} {'hit@5':>6} {'MRR':>6} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>7}"
          f"   ({questions_count} questions)")
    for mode in MODES:
        f = figures[mode]
        print(f"{mode:<8} {f['hit_at_5']:>6.3f} {f['mrr']:>6.3f} {f['median_ms']:>10.1f} {f['p95_ms']:>8.1f}"
              f" {f['cpu_median_ms']:>7.1f}")
    for mode in MODES:
        for question in misses[mode]:
            print(f"  {mode} miss: {question}")
    print(json.dumps({
        "benchmark": "rag_quality",
        "target": "hybrid hit@5 >= 0.95 and >= dense-only; hybrid median latency <= 150 ms",
        "passed": passed,
        "questions": questions_count,
        **{f"{mode}_{key}": value for mode in MODES for key, value in figures[mode].items()},
    }))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
