"""Decoding stream entries as they arrive: raw bytes in, checked text and JSON out, or a reason.

Streams are read with a client that returns bytes (`decode_responses=False`): with decoded replies,
one field that is not UTF-8 makes redis-py raise for the whole reply, and every later entry would wait
behind it. Each field is decoded here on its own, so a bad entry is named and the rest flow.

`PoisonEntry` is the one error: its message is the reason stored with the dead letter.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import Any

MAX_ENTRY_BYTES = 256_000  # all fields of one entry together
MAX_JSON_DEPTH = 32  # objects and arrays nested in one JSON field


class PoisonEntry(ValueError):
    """An entry that can never be handled as written; the message is the reason."""


RawFields = Mapping[bytes, bytes] | None


def _text(raw: bytes | str, what: str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PoisonEntry(f"{what} is not UTF-8 (byte {exc.start}: {raw[exc.start:exc.start + 4]!r})") from None


def decode_fields(raw: RawFields) -> dict[str, str]:
    """The entry's fields as text, field by field.

    Raises:
        PoisonEntry: no fields (an entry deleted while pending reads back as none), larger than
            `MAX_ENTRY_BYTES` in all, or a name or value that is not UTF-8.
    """
    if not raw:
        raise PoisonEntry("entry has no fields")
    size = sum(len(k) + len(v) for k, v in raw.items())
    if size > MAX_ENTRY_BYTES:
        raise PoisonEntry(f"entry is {size} bytes, more than {MAX_ENTRY_BYTES}")
    fields: dict[str, str] = {}
    for key, value in raw.items():
        name = _text(key, "a field name")
        fields[name] = _text(value, f"field {name[:40]!r}")
    return fields


def raw_fields(raw: RawFields) -> dict[str, str]:
    """The fields exactly as stored, for a dead letter: each name and value in base64 (`b64:` prefixed)
    unless it is printable UTF-8, so nothing of a poison entry is lost or mangled."""
    def show(value: bytes | str) -> str:
        data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and not text.startswith("b64:") and text.isprintable():
            return text
        return "b64:" + base64.b64encode(data).decode("ascii")

    return {show(k): show(v) for k, v in (raw or {}).items()}


def _depth_and_text(value: Any) -> None:
    """Walk `value` without recursion: refuse nesting deeper than `MAX_JSON_DEPTH` and strings that
    hold lone surrogates (JSON allows `"\\ud800"`, UTF-8 and MongoDB do not)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                raise PoisonEntry(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            for key, inner in item.items():
                _check_string(key)
                stack.append((inner, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                raise PoisonEntry(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            _check_string(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise PoisonEntry("JSON number too large for a float (infinite)")


def _check_string(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PoisonEntry(f"string {text[max(0, exc.start - 10):exc.start]!r}… holds a lone surrogate "
                          f"(U+{ord(text[exc.start]):04X})") from None


def load_json_object(text: str, what: str = "data") -> dict[str, Any]:
    """Parse one JSON field that must hold an object (RFC 8259, without NaN/Infinity).

    Raises:
        PoisonEntry: not JSON, nested deeper than `MAX_JSON_DEPTH`, a lone surrogate in any string,
            a non-finite number, or not an object (a string holding JSON is named as such).
    """
    def refuse_constant(name: str) -> Any:
        raise PoisonEntry(f"{what} holds {name}, which JSON does not allow")

    try:
        value = json.loads(text, parse_constant=refuse_constant)
    except RecursionError:
        raise PoisonEntry(f"{what}: JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        if isinstance(exc, PoisonEntry):
            raise
        raise PoisonEntry(f"{what} is not JSON: {exc}") from None
    if isinstance(value, str):
        raise PoisonEntry(f"{what} is a JSON string, not an object (encoded twice?)")
    if not isinstance(value, dict):
        raise PoisonEntry(f"{what} is JSON {type(value).__name__}, not an object")
    _depth_and_text(value)
    return value
