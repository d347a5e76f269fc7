"""Golden questions: does retrieval find the right passage? Hit rate at k over questions kept in the repo.

`golden_questions.yaml` (beside this module) lists questions, the documents that answer them (file
names or path suffixes, matched against a chunk's `source`) and optionally a phrase the retrieved
passage must contain. They are written against the built-in documents (`builtin_docs/`) and the real
documents in `../shared/fixtures/rag_docs/`. A question counts only when one of its documents is in the
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
    phrase: str | None = None

    def answers(self, chunk: RetrievedChunk) -> bool:
        """Whether a retrieved chunk comes from an expected document (and contains the phrase)."""
        from_source = any(chunk.source.endswith(suffix) for suffix in self.sources)
        return from_source and (self.phrase is None or self.phrase.lower() in chunk.text.lower())

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


def load_golden_questions(path: Path = GOLDEN_FILE) -> list[GoldenQuestion]:
    """The questions of a golden file (a YAML list of `{question, sources, phrase?}`).

    Raises:
        ValueError: naming the entry, when one lacks a question or sources.
    """
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    questions = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("question") or not entry.get("sources"):
            raise ValueError(f"{path.name} entry {number} needs a question and sources: {entry!r}")
        sources = entry["sources"] if isinstance(entry["sources"], list) else [entry["sources"]]
        questions.append(GoldenQuestion(entry["question"], tuple(map(str, sources)), entry.get("phrase")))
    return questions


def evaluate(
    questions: Sequence[GoldenQuestion],
    search: Callable[[str, int], list[RetrievedChunk]],
    ingested_sources: Iterable[str],
    k: int = 5,
) -> GoldenEvaluation:
    """Hit rate at `k`: the share of applicable questions with an answering chunk in the top `k`."""
    sources = list(ingested_sources)
    applicable = [q for q in questions if q.applies_to(sources)]
    results = []
    for question in applicable:
        chunks = search(question.question, k)
        rank = next((i for i, chunk in enumerate(chunks, start=1) if question.answers(chunk)), None)
        results.append(GoldenResult(question.question, rank is not None, rank, chunks[0].source if chunks else None))
    return GoldenEvaluation(results, len(questions) - len(applicable))
