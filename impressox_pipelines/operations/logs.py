"""Structured logs: one JSON object per line, with Dagster's run context, and no secrets.

Wired through the instance's `python_logs.dagster_handler_config` (see deploy/dagster.yaml), so
Dagster instantiates these classes when a run or the daemon starts — never at import time.

Each line has: `ts` (ISO-8601 UTC), `level`, `logger`, `message`, and, for records emitted through
Dagster's log manager, `run_id`, `job`, `step_key`, `event` (the `DagsterEventType` value, e.g.
`STEP_FAILURE`), `asset_key` (the event's asset key when it carries one, otherwise the step's: asset
steps are named after their key, path parts joined by `__`), `partition` and `error` (the first line of
a failure's message). Every value is redacted, so a secret cannot slip through in any field.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from impressox_pipelines.operations.redaction import Redactor

# The attribute Dagster's log manager sets on every record it emits (dagster._core.log_manager).
DAGSTER_META = "dagster_meta"


def _first_line(text: str | None) -> str | None:
    lines = (text or "").strip().splitlines()
    return lines[0][:500] if lines else None


def _event_fields(event: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"event": getattr(event, "event_type_value", None)}
    try:
        asset_key = event.asset_key
    except Exception:  # noqa: BLE001 - an event whose payload does not match its type has no key
        asset_key = None
    if asset_key is not None:
        fields["asset_key"] = asset_key.to_user_string()
    try:
        fields["partition"] = event.partition
    except Exception:  # noqa: BLE001 - same as above
        pass
    error = getattr(getattr(event, "event_specific_data", None), "error", None)
    if error is not None:
        fields["error"] = _first_line(f"{getattr(error, 'cls_name', '')}: {getattr(error, 'message', '')}")
    return fields


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The JSON object for one log record (before redaction); `None` fields are dropped."""
    meta = getattr(record, DAGSTER_META, None)
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "logger": record.name,
    }
    if isinstance(meta, dict):
        fields["run_id"] = meta.get("run_id")
        fields["job"] = meta.get("job_name")
        fields["step_key"] = meta.get("step_key")
        if meta.get("resource_name"):
            fields["resource"] = meta["resource_name"]
        if meta.get("step_key"):
            fields["asset_key"] = meta["step_key"].replace("__", "/")
        if meta.get("dagster_event") is not None:
            fields.update(_event_fields(meta["dagster_event"]))
        fields["message"] = meta.get("orig_message") or record.getMessage()
    else:
        fields["message"] = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        fields["error"] = _first_line(f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}")
    return {key: value for key, value in fields.items() if value is not None}


class JsonFormatter(logging.Formatter):
    """Formats a record as one redacted JSON line (see the module docstring for the fields)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._redact = Redactor.from_environment()

    def format(self, record: logging.LogRecord) -> str:
        # Redact each value before encoding: JSON escaping could split a secret containing `"` or `\`.
        fields = {key: self._redact(str(value)) for key, value in record_fields(record).items()}
        return json.dumps(fields, ensure_ascii=False)


class RedactSecretsFilter(logging.Filter):
    """Masks secrets in a record's message in place, for handlers with any formatter.

    The secret values are read from the environment when the filter is created (at run start).
    """

    def __init__(self, name: str = ""):
        super().__init__(name)
        self._redact = Redactor.from_environment()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
