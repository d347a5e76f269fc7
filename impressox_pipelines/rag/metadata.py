"""Making metadata and names acceptable to Chroma, and metadata writes that replace instead of merge.

Chroma metadata values must be `str`, `int`, `float` or `bool`: in a write, a `None` value deletes the
key (Chroma 1.x), and a NaN or infinity makes Chroma keep the record with no metadata at all, so such
numbers are refused. Chroma's upsert and update *merge* metadata into the stored record: `replacement`
turns a new metadata dict into the write that leaves exactly it. Collection names must follow Chroma's
rules: 3–512 characters from `[a-zA-Z0-9._-]`, starting and ending with a letter or digit, no `..`, and
not an IPv4 address; names are checked, never rewritten.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

# Every metadata key a document chunk can carry in Chroma (`modified_at` attached at ingestion).
DOCUMENT_FIELDS = ("kind", "source", "document_id", "title", "file_type", "url", "chunk_index", "modified_at",
                   "modified_at_ts")
# A tweet's counts and when they were read: refreshed on every scrape, never a reason to re-embed.
VOLATILE_FIELDS = ("like_count", "retweet_count", "reply_count", "quote_count", "view_count", "scraped_at")
# Every metadata key a tweet can carry in Chroma, but the scam decision (`scam.SCAM_KEYS`).
TWEET_FIELDS = ("kind", "source", "title", "tweet_id", "author_handle", "author_id", "created_at", "created_at_ts",
                "partition_date", "lang", "hashtags", "cashtags", *VOLATILE_FIELDS, "scraped_at_ts")

_NAME_BAD_CHARS = re.compile(r"[^a-zA-Z0-9._-]")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
MAX_COLLECTION_NAME = 512


def sanitize_metadata(metadata: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    """A flat metadata dict that Chroma accepts.

    - `None` values (and empty lists) are dropped, never stored as the string "None".
    - Lists, tuples and sets become comma-joined strings (`["btc", "eth"]` → `"btc,eth"`).
    - `datetime` values become an ISO-8601 UTC string under the key and epoch seconds (int) under
      `<key>_ts`, so time ranges can be filtered with `$gte`/`$lte`. Naive datetimes are taken as UTC.
    - `date` values become `YYYY-MM-DD`.
    - Dicts become compact JSON strings. Anything else becomes `str(value)`.

    Raises:
        ValueError: naming the key, for a NaN or infinite float.
    """
    clean: dict[str, str | int | float | bool] = {}
    for key, value in metadata.items():
        key = str(key)
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(
                f"metadata {key!r} is {value!r}: only finite numbers can be stored (Chroma keeps a record "
                f"with a NaN or infinity but drops all of its metadata)"
            )
        if isinstance(value, bool | int | float | str):
            clean[key] = value
        elif isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            moment = moment.astimezone(UTC)
            clean[key] = moment.isoformat()
            clean[f"{key}_ts"] = int(moment.timestamp())
        elif isinstance(value, date):
            clean[key] = value.isoformat()
        elif isinstance(value, list | tuple | set | frozenset):
            items = [str(item) for item in value if item is not None and str(item) != ""]
            if items:
                clean[key] = ",".join(items)
        elif isinstance(value, Mapping):
            clean[key] = json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))
        else:
            clean[key] = str(value)
    return clean


class InvalidCollectionName(ValueError):
    """A collection name that Chroma would refuse (or that would only pass by being altered)."""


def check_collection_name(name: str) -> str:
    """`name` itself when Chroma accepts it as a collection name; never altered, cut or padded.

    Raises:
        InvalidCollectionName: naming the rule broken (no letter or digit, length, characters, first
            or last character, `..`, IPv4 form), so that two long or odd names never become one.
    """
    problem = None
    if not isinstance(name, str) or not any(ch.isascii() and ch.isalnum() for ch in name):
        problem = "has no letter or digit"
    elif not 3 <= len(name) <= MAX_COLLECTION_NAME:
        problem = f"has {len(name)} characters; Chroma needs 3 to {MAX_COLLECTION_NAME}"
    elif bad := sorted(set(_NAME_BAD_CHARS.findall(name)))[:5]:
        problem = f"contains {', '.join(map(repr, bad))}; only letters, digits, '.', '_' and '-' are allowed"
    elif not (name[0].isalnum() and name[-1].isalnum() and name[0].isascii() and name[-1].isascii()):
        problem = "must start and end with a letter or digit"
    elif ".." in name:
        problem = "contains '..'"
    elif _IPV4.match(name):
        problem = "looks like an IPv4 address"
    if problem:
        shown = name if not isinstance(name, str) or len(name) <= 60 else f"{name[:40]}…"
        raise InvalidCollectionName(f"collection name {shown!r} {problem}")
    return name


def replacement(
    stored: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> dict[str, str | int | float | bool | None]:
    """The metadata to write so that a record holding `stored` ends up holding exactly `new`.

    Chroma merges written metadata into the stored one; a key set to `None` is deleted. So every
    stored key missing from `new` is written as `None`.
    """
    return {**{key: None for key in (stored or {}) if key not in new}, **new}
