"""The keyword filter: which tweets are airdrop candidates at all.

A keywords file lists one term per line (format in `listfile`). Every term is literal: regular-
expression characters such as `(`, `[`, `*` or `.` match themselves (and are reported, in case a
pattern was intended). Matching is case-insensitive on `text.normalize`d text and by whole words:
`claim` matches "Claim!" and "#claim" but not "reclaim" or "claims". A term starting with `$` is a
cashtag (`$ARB` matches "$arb" only; the term `arb` does not match the cashtag "$ARB"). A term of
several words matches across any run of whitespace ("air   drop"). Terms in scripts written without
spaces (Chinese, Japanese kana, Korean, Thai) match inside longer runs of text, where word boundaries
do not exist.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from impressox_pipelines.airdrops.listfile import ListFileIssue, ReloadingListFile, parse_lines, shared_list_file
from impressox_pipelines.airdrops.text import normalize

DEFAULT_KEYWORDS_FILE = "default_keywords.txt"
_REGEX_CHARS = set(".^$*+?{}[]\\|()")
_NO_SPACE_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR")


def default_keywords_path() -> Path:
    """The keywords file shipped in this package."""
    return Path(str(resources.files("impressox_pipelines.airdrops").joinpath(DEFAULT_KEYWORDS_FILE)))


def _unspaced(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(_NO_SPACE_SCRIPTS)


def term_pattern(term: str) -> re.Pattern[str]:
    """The compiled whole-word, literal, case-insensitive pattern of one term (matched on normalized text)."""
    words = normalize(term).split()
    body = r"\s+".join(re.escape(w) for w in words)
    left = "" if _unspaced(words[0][0]) else r"(?<![\w$])" if words[0][0] != "$" else r"(?<!\w)"
    right = "" if _unspaced(words[-1][-1]) else r"(?![\w])"
    return re.compile(left + body + right, re.IGNORECASE)


@dataclass
class KeywordSet:
    """Terms as written in the file, their patterns, and what was skipped or noteworthy, by line."""

    terms: list[str]
    issues: list[ListFileIssue] = field(default_factory=list)
    blank_lines: int = 0
    _patterns: list[re.Pattern[str]] = field(default_factory=list, repr=False)

    @classmethod
    def from_terms(cls, terms: list[str]) -> KeywordSet:
        return cls.parse("\n".join(terms).encode("utf-8"))

    @classmethod
    def parse(cls, raw: bytes) -> KeywordSet:
        """Parse a keywords file's bytes; never raises on content (see `issues`)."""
        entries, issues, blank = parse_lines(raw, dedup_key=lambda t: " ".join(normalize(t).split()))
        terms, patterns = [], []
        for entry in entries:
            body = entry.text[1:] if entry.text.startswith("$") else entry.text
            specials = sorted({ch for ch in body if ch in _REGEX_CHARS})
            if specials:
                issues.append(ListFileIssue(
                    entry.line_no,
                    f"{entry.text!r} contains regular-expression characters {' '.join(specials)}; "
                    "matched literally (terms are not patterns)",
                ))
            terms.append(entry.text)
            patterns.append(term_pattern(entry.text))
        if not terms:
            issues.append(ListFileIssue(0, "no terms: every tweet will be filtered out"))
        issues.sort(key=lambda i: i.line_no)
        return cls(terms=terms, issues=issues, blank_lines=blank, _patterns=patterns)

    def find(self, text: str) -> list[str]:
        """The terms present in `text` (raw or normalized), in file order, each once."""
        norm = normalize(text)
        return [term for term, pattern in zip(self.terms, self._patterns, strict=True) if pattern.search(norm)]


class KeywordFile(ReloadingListFile[KeywordSet]):
    """A keywords file, re-read whenever its modification time or size changes.

    Raises:
        ListFileError: when the file cannot be read at the first load.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        super().__init__(path or default_keywords_path(), KeywordSet.parse)


def shared_keyword_file(path: str | os.PathLike[str] | None = None) -> KeywordFile:
    """The process-wide `KeywordFile` of `path` (default: the shipped file); see `shared_list_file`."""
    return shared_list_file(KeywordFile, path or default_keywords_path())
