"""Backend events (`impressox:events`): publishing, decoding and validating them.

Each entry has exactly two fields, `type` and `data` (a JSON object). Entries are read as bytes and
decoded field by field (`events.codec`): bytes that are not UTF-8, JSON nested deeper than
`codec.MAX_JSON_DEPTH`, lone surrogates, oversize data, an unknown type (from a newer backend, say) and
missing or extra fields each raise `InvalidEvent` with the reason, which becomes the dead letter's.
`data` is checked against the type's schema below: required and optional fields with their types;
an unexpected field, a missing one, a wrong type, or any key (at any depth) that starts with `$` or
contains `.` rejects the event with a reason, so event data can never act as a MongoDB operator or path.

    rule.created          {"rule_id": str, "symbol"?: str, "chat_id"?: int|str}
    scrape_target.added   {"kind": "user"|"search", "value": str}
    document.added        {"path"?: str, "url"?: str, "title"?: str, "source"?: str}  (path or url)
    preferences.updated   the `impressox_pipelines.notify.preferences.apply_changes` fields
    notification.send_now {"reason"?: str}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from impressox_pipelines.events.codec import PoisonEntry, RawFields, decode_fields, load_json_object
from impressox_pipelines.events.streams import entry_id_text
from impressox_pipelines.notify.preferences import InvalidPreferences, apply_changes
from impressox_pipelines.stores import EVENTS_STREAM

EVENT_FIELDS = ("type", "data")
MAX_DATA_BYTES = 64_000

# type -> (required {field: types}, optional {field: types})
_SCHEMAS: dict[str, tuple[dict[str, tuple[type, ...]], dict[str, tuple[type, ...]]]] = {
    "rule.created": ({"rule_id": (str,)}, {"symbol": (str,), "chat_id": (int, str)}),
    "scrape_target.added": ({"kind": (str,), "value": (str,)}, {}),
    "document.added": ({}, {"path": (str,), "url": (str,), "title": (str,), "source": (str,)}),
    "notification.send_now": ({}, {"reason": (str,)}),
}
EVENT_TYPES = (*_SCHEMAS, "preferences.updated")


class InvalidEvent(PoisonEntry):
    """An event that does not follow its documented format; the message is the reason."""


@dataclass(frozen=True)
class BackendEvent:
    entry_id: str
    type: str
    data: dict[str, Any]


def _check_keys(value: Any, path: str = "data") -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if not isinstance(key, str) or key.startswith("$") or "." in key or "\x00" in key:
                raise InvalidEvent(f"field name {str(key)[:40]!r} in {path} is not allowed")
            _check_keys(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for inner in value:
            _check_keys(inner, path)


def _check_schema(event_type: str, data: dict[str, Any]) -> None:
    if event_type == "preferences.updated":
        try:
            apply_changes(None, data)
        except InvalidPreferences as exc:
            raise InvalidEvent(str(exc)) from None
        return
    required, optional = _SCHEMAS[event_type]
    missing = sorted(set(required) - set(data))
    if missing:
        raise InvalidEvent(f"missing field(s): {', '.join(missing)}")
    extra = sorted(set(data) - set(required) - set(optional))
    if extra:
        raise InvalidEvent(f"unexpected field(s): {', '.join(extra)[:200]}")
    for name, value in data.items():
        types = {**required, **optional}[name]
        if isinstance(value, bool) or not isinstance(value, types) or (isinstance(value, str) and not value.strip()):
            expected = " or ".join(t.__name__ for t in types)
            raise InvalidEvent(f"{name} must be a non-empty {expected}")
    if event_type == "scrape_target.added" and data["kind"] not in ("user", "search"):
        raise InvalidEvent("kind must be user or search")
    if event_type == "document.added" and not (data.get("path") or data.get("url")):
        raise InvalidEvent("give path or url")


def publish_event(client: Any, event_type: str, data: dict[str, Any]) -> str:
    """Append a backend event to the events stream; returns the stream entry id."""
    return entry_id_text(client.xadd(EVENTS_STREAM, {"type": event_type, "data": json.dumps(data, default=str)}))


def parse_event(entry_id: str, raw: RawFields) -> BackendEvent:
    """Decode and validate one events-stream entry as read (bytes or text fields).

    Raises:
        PoisonEntry: naming the first problem (`InvalidEvent` for the event rules; the codec's own for
            undecodable bytes, size, depth, surrogates).
    """
    try:
        fields = decode_fields(raw)
    except PoisonEntry as exc:
        raise InvalidEvent(str(exc)) from None
    extra = sorted(set(fields) - set(EVENT_FIELDS))
    if extra:
        raise InvalidEvent(f"unexpected entry field(s): {', '.join(extra)[:200]}")
    event_type = fields.get("type") or ""
    if event_type not in EVENT_TYPES:
        raise InvalidEvent(f"unknown event type {event_type[:60]!r}")
    text = fields.get("data")
    if text is None:
        raise InvalidEvent("missing entry field: data")
    if len(text.encode("utf-8")) > MAX_DATA_BYTES:
        raise InvalidEvent(f"data larger than {MAX_DATA_BYTES} bytes")
    try:
        data = load_json_object(text)
    except PoisonEntry as exc:
        raise InvalidEvent(str(exc)) from None
    _check_keys(data)
    _check_schema(event_type, data)
    return BackendEvent(entry_id, event_type, data)
