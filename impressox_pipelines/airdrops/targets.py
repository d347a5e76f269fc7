"""Target accounts: the official project accounts whose posts weigh more, and whose names scammers copy.

A target accounts file lists one X handle per line (with or without `@`; format in `listfile`).
Handles are compared case-insensitively, as X does. `resembles` finds impersonators: an account
that is not a target but whose handle or display name is a target's handle with decorations
(`arbitrum_claims`, `ArbitrumSupport`), digit-for-letter swaps (`arb1trum`) or one or two typos.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from impressox_pipelines.airdrops.listfile import ListFileIssue, ReloadingListFile, parse_lines, shared_list_file
from impressox_pipelines.airdrops.text import normalize

DEFAULT_TARGETS_FILE = "default_target_accounts.txt"
# X handles: 1-15 letters, digits and underscores (https://help.x.com/en/managing-your-account/x-username-rules).
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a"})
# Words impersonators add to an official name; a fan account ("arbitrumdaily") adds none of these.
_DECORATIONS = ("support", "help", "claim", "airdrop", "drop", "reward", "official", "verify", "service",
                "team", "admin", "care", "desk", "giveaway", "bonus")
# Handles shorter than this are too generic to call a near-miss an impersonation ("sui" vs "sun").
_MIN_FUZZY_LENGTH = 5


def default_targets_path() -> Path:
    """The target accounts file shipped in this package."""
    return Path(str(resources.files("impressox_pipelines.airdrops").joinpath(DEFAULT_TARGETS_FILE)))


def _skeleton(name: str) -> str:
    """Lower-case letters only, digits read as the letters they imitate: "Arb1trum_Claim" → "arbitrumclaim"."""
    return re.sub(r"[^a-z]", "", normalize(name).translate(_LEET))


@dataclass
class TargetAccounts:
    """A set of official handles (lower-case, without `@`)."""

    handles: frozenset[str] = frozenset()
    issues: list[ListFileIssue] = field(default_factory=list)

    @classmethod
    def from_handles(cls, handles: list[str]) -> TargetAccounts:
        return cls.parse("\n".join(handles).encode("utf-8"))

    @classmethod
    def parse(cls, raw: bytes) -> TargetAccounts:
        """Parse a target accounts file's bytes; invalid handles are skipped with an issue, never raised."""
        entries, issues, _ = parse_lines(raw, dedup_key=lambda t: t.lstrip("@").casefold())
        handles = set()
        for entry in entries:
            handle = entry.text.lstrip("@")
            if not _HANDLE.match(handle):
                issues.append(ListFileIssue(
                    entry.line_no, f"{entry.text!r} is not an X handle (1-15 letters, digits, _); skipped"
                ))
                continue
            handles.add(handle.casefold())
        issues.sort(key=lambda i: i.line_no)
        return cls(handles=frozenset(handles), issues=issues)

    def __contains__(self, handle: object) -> bool:
        return isinstance(handle, str) and handle.lstrip("@").casefold() in self.handles

    def resembles(self, handle: str, display_name: str = "") -> str | None:
        """The target handle that `handle` or `display_name` imitates, or None.

        Imitation: the same letters as a target once digits and separators are read away
        ("Arb1trum_" for `arbitrum`), a target plus a support/claim decoration ("ArbitrumSupport"),
        or, for targets of 5+ letters, one typo (two for 8+ letters) in the handle. A target account
        itself never imitates.
        """
        if handle in self:
            return None
        names = [s for s in (_skeleton(handle), _skeleton(display_name)) if s]
        for target in sorted(self.handles):
            skeleton = _skeleton(target)
            if len(skeleton) < 3:
                continue
            for name in names:
                if name == skeleton:
                    return target
                rest = name.replace(skeleton, " ", 1)
                if rest != name and any(word in rest for word in _DECORATIONS):
                    return target
            own = _skeleton(handle)
            allowed = 1 if len(skeleton) < 8 else 2
            if len(skeleton) >= _MIN_FUZZY_LENGTH and own and Levenshtein.distance(own, skeleton) <= allowed:
                return target
        return None


class TargetAccountsFile(ReloadingListFile[TargetAccounts]):
    """A target accounts file, re-read whenever it changes.

    Raises:
        ListFileError: when the file cannot be read at the first load.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        super().__init__(path or default_targets_path(), TargetAccounts.parse)


def shared_targets_file(path: str | os.PathLike[str] | None = None) -> TargetAccountsFile:
    """The process-wide `TargetAccountsFile` of `path` (default: the shipped file); see `shared_list_file`."""
    return shared_list_file(TargetAccountsFile, path or default_targets_path())
