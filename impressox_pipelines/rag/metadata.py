"""Making metadata and names acceptable to Chroma.

Chroma metadata values must be `str`, `int`, `float` or `bool` (a `None` value is rejected or silently
dropped depending on the version, and equality filters on lists are awkward), and collection names must
follow Chroma's rules (`chromadb.api.validation`): 3–512 characters from `[a-zA-Z0-9._-]`, starting and
ending with a letter or digit, no `..`, and not an IPv4 address.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

_NAME_BAD_CHARS = re.compile(r"[^a-zA-Z0-9._-]+")
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
    """
    clean: dict[str, str | int | float | bool] = {}
    for key, value in metadata.items():
        key = str(key)
        if value is None:
            continue
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


def sanitize_collection_name(name: str) -> str:
    """A Chroma-valid collection name derived from `name` (deterministic: same input, same output).

    Runs of invalid characters become `_`, `..` becomes `_`, leading/trailing non-alphanumerics are
    trimmed, short names are padded with `_kb` and long ones cut to 512 characters; an IPv4-looking
    name gets a `c_` prefix.

    Raises:
        ValueError: when `name` contains no letter or digit at all.
    """
    text = _NAME_BAD_CHARS.sub("_", name.strip())
    while ".." in text:
        text = text.replace("..", "_")
    text = re.sub(r"^[^a-zA-Z0-9]+|[^a-zA-Z0-9]+$", "", text)
    if not text:
        raise ValueError(f"collection name {name!r} has no letter or digit")
    if _IPV4.match(text):
        text = f"c_{text}"
    if len(text) < 3:
        text = f"{text}_kb"
    return re.sub(r"[^a-zA-Z0-9]+$", "", text[:MAX_COLLECTION_NAME])
