"""Golden questions: does retrieval find the passage that answers? Hit rate at k and MRR, by passage.

`golden_questions.yaml` (beside this module) lists questions, the documents that answer them (file
names or path suffixes, matched against a chunk's `source`) and a phrase of the answering passage: a
retrieved chunk counts only when it comes from one of those documents *and* holds the phrase (case
and runs of whitespace ignored), so finding the right document with the wrong passage is a miss.
They are written against the built-in documents (`builtin_docs/`) and the real documents in
`../shared/fixtures/rag_docs/`. A question counts only when one of its documents is in the
knowledge base, so the same file serves the demo (built-in documents) and the tests (both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from impressox_pipelines.rag.retrieval import RetrievedChunk

GOLDEN_FILE = Path(__file__).with_name("golden_questions.yaml")


@dataclass(frozen=True)
class GoldenQuestion:
    question: str
    sources: tuple[str, ...]
    phrase: str

    def answers(self, chunk: RetrievedChunk) -> bool:
        """Whether a retrieved chunk comes from an expected document and holds the phrase."""
        from_source = any(chunk.source.endswith(suffix) for suffix in self.sources)
        return from_source and _folded(self.phrase) in _folded(chunk.text)

    def applies_to(self, sources: Iterable[str]) -> bool:
        return any(source.endswith(suffix) for source in sources for suffix in self.sources)


@dataclass(frozen=True)
class GoldenResult:
    question: str
    hit: bool
    rank: int | None  # 1-based rank of the first answering chunk, None on a miss
    top_source: str | None


@dataclass(frozen=True)
class GoldenEvaluation:
    results: list[GoldenResult]
    not_applicable: int  # questions whose documents are not in the knowledge base

    @property
    def hit_rate(self) -> float:
        return sum(r.hit for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def mrr(self) -> float:
        """Mean reciprocal rank of the first answering passage (0 for a miss), over applicable questions."""
        return sum(1 / r.rank for r in self.results if r.rank) / len(self.results) if self.results else 0.0


def _folded(text: str) -> str:
    return " ".join(text.lower().split())


def load_golden_questions(path: Path = GOLDEN_FILE) -> list[GoldenQuestion]:
    """The questions of a golden file (a YAML list of `{question, sources, phrase}`).

    Raises:
        ValueError: naming the entry, when one lacks a question, sources or a phrase.
    """
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    questions = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not all(entry.get(key) for key in ("question", "sources", "phrase")):
            raise ValueError(f"{path.name} entry {number} needs a question, sources and a phrase: {entry!r}")
        if not isinstance(entry["phrase"], str):
            # YAML reads 0x… as a hex number and 58642080 as an int: the phrase would silently change.
            raise ValueError(f"{path.name} entry {number}: phrase {entry['phrase']!r} must be a string "
                             f"(quote numbers and addresses)")
        sources = entry["sources"] if isinstance(entry["sources"], list) else [entry["sources"]]
        questions.append(GoldenQuestion(entry["question"], tuple(map(str, sources)), entry["phrase"]))
    return questions


def evaluate(
    questions: Sequence[GoldenQuestion],
    search: Callable[[str, int], list[RetrievedChunk]],
    ingested_sources: Iterable[str],
    k: int = 5,
) -> GoldenEvaluation:
    """Hit rate at `k` (the share of applicable questions with an answering passage in the top `k`) and
    MRR; `search(question, k)` returns the ranked chunks."""
    sources = list(ingested_sources)
    applicable = [q for q in questions if q.applies_to(sources)]
    results = []
    for question in applicable:
        chunks = search(question.question, k)
        rank = next((i for i, chunk in enumerate(chunks, start=1) if question.answers(chunk)), None)
        results.append(GoldenResult(question.question, rank is not None, rank, chunks[0].source if chunks else None))
    return GoldenEvaluation(results, len(questions) - len(applicable))
