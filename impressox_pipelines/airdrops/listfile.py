"""One-entry-per-line configuration files (keywords, target accounts), with reload on change.

Format: UTF-8 text, one entry per line. A line starting with `#` is a comment, and ` #` (whitespace
then `#`) starts a comment after an entry, so `c#` stays an entry; surrounding whitespace is ignored.
Blank lines, duplicate entries (compared case-insensitively) and lines that are not valid UTF-8 are
skipped, each with a `ListFileIssue` naming the line; nothing in the file can make loading fail
except the file being absent or unreadable.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
_INLINE_COMMENT = re.compile(r"\s#")


class ListFileError(OSError):
    """The file cannot be read at all (absent, a directory, no permission)."""


@dataclass(frozen=True)
class ListEntry:
    line_no: int  # 1-based
    text: str


@dataclass(frozen=True)
class ListFileIssue:
    line_no: int  # 1-based; 0 for the file as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.message}" if self.line_no else self.message


def parse_lines(raw: bytes, *, dedup_key: Callable[[str], str] = str.casefold) -> tuple[
    list[ListEntry], list[ListFileIssue], int
]:
    """Entries, issues and the number of blank/comment-only lines of a list file's bytes."""
    entries: list[ListEntry] = []
    issues: list[ListFileIssue] = []
    seen: dict[str, int] = {}
    blank = 0
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for line_no, raw_line in enumerate(raw.splitlines(), start=1):
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            issues.append(ListFileIssue(line_no, f"not valid UTF-8 (byte {exc.start}); line skipped"))
            continue
        text = "" if line.lstrip().startswith("#") else _INLINE_COMMENT.split(line, maxsplit=1)[0].strip()
        if not text:
            blank += 1
            continue
        key = dedup_key(text)
        if key in seen:
            issues.append(ListFileIssue(line_no, f"duplicate of line {seen[key]} ({text!r}); ignored"))
            continue
        seen[key] = line_no
        entries.append(ListEntry(line_no, text))
    return entries, issues, blank


class ReloadingListFile(Generic[T]):
    """A list file parsed by `build`, re-parsed when its modification time or size changes.

    `current()` stats the file on every call (cheap) and rebuilds only on change. If the file
    disappears or becomes unreadable after a good load, the last good value is kept and the problem
    is added to `issues`, so a running pipeline is not broken by an editor's half-saved file.

    Raises (from the constructor and `current()` before any good load):
        ListFileError: when the file cannot be read.
    """

    def __init__(self, path: str | os.PathLike[str], build: Callable[[bytes], T]):
        self.path = Path(path)
        self._build = build
        self._stamp: tuple[int, int] | None = None
        self._value: T | None = None
        self.sha256: str | None = None  # hex digest of the bytes the current value was built from
        self.reloads = 0
        self.read_error: str | None = None
        self.current()

    def _read(self) -> tuple[tuple[int, int], bytes]:
        try:
            stat = self.path.stat()
            return (stat.st_mtime_ns, stat.st_size), self.path.read_bytes()
        except OSError as exc:
            raise ListFileError(f"cannot read {self.path}: {exc.strerror or type(exc).__name__}") from None

    def current(self) -> T:
        """The parsed value, re-parsed first if the file changed since the last call."""
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp or self._value is None:
                stamp, raw = self._read()
                self._value = self._build(raw)
                self.sha256 = hashlib.sha256(raw).hexdigest()
                self._stamp = stamp
                self.reloads += 1
            self.read_error = None
        except (OSError, ListFileError) as exc:
            if self._value is None:
                raise ListFileError(f"cannot read {self.path}: {getattr(exc, 'strerror', None) or exc}") from None
            self.read_error = f"cannot re-read {self.path} ({exc}); keeping the version loaded before"
        return self._value


F = TypeVar("F", bound=ReloadingListFile)


@functools.cache
def _shared(cls: type[F], path: Path) -> F:
    return cls(path)


def shared_list_file(cls: type[F], path: str | os.PathLike[str]) -> F:
    """One `cls(path)` per class and resolved path for the whole process, so a long-lived process (a
    sensor, the daemon's code server) keeps one reloading file and notices edits.

    Raises:
        ListFileError: when the file cannot be read at the first load.
    """
    return _shared(cls, Path(path).expanduser().resolve())
