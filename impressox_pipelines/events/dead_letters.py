"""The dead-letter stream: every entry that could not be handled, with its reason and its raw fields.

`impressox:dead_letters` fields:
    reason           why (for a failed delivery: the last error)
    stream           the stream the entry came from
    entry_id         its id there
    fields           JSON object: the original fields as text (for a delivery that failed for one
                     recipient of a fan-out: the original with `chat_id` set to that recipient and
                     `audience` empty); a name or value that is not printable UTF-8 is `b64:<base64>`
    dead_lettered_at ISO-8601 UTC

The stream keeps about the newest `MAX_DEAD_LETTERS` entries. Dead-lettering is idempotent per
`dedup_key`: the marker and the XADD happen in one atomic script, so a tick or run that fails after
dead-lettering and is retried does not dead-letter the same entry twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from impressox_pipelines.stores import DEAD_LETTER_SEEN_PREFIX, DEAD_LETTER_STREAM

_DEAD_LETTER_SCRIPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
end
return false
"""
DEAD_LETTER_DEDUP_TTL_S = 7 * 24 * 3600
# The stream keeps about the newest 100,000 dead letters (XADD MAXLEN ~): a flood of poison cannot grow
# Redis without bound, and an operator has days to read them (`impressox notify dead-letters`).
MAX_DEAD_LETTERS = 100_000
MAX_REASON_CHARS = 2000


def dead_letter(
    client: Any,
    *,
    stream: str,
    entry_id: str,
    fields: dict[str, Any],
    reason: str,
    dedup_key: str | None = None,
) -> str | None:
    """Append an unhandled entry to the dead-letter stream; returns the new entry id.

    Returns None when an entry with the same `dedup_key` (default `stream` + `entry_id`) was already
    dead-lettered in the last 7 days.
    """
    marker = f"{DEAD_LETTER_SEEN_PREFIX}{dedup_key or f'{stream}:{entry_id}'}"
    record = {
        "reason": reason[:MAX_REASON_CHARS],
        "stream": stream,
        "entry_id": entry_id,
        # ensure_ascii: a lone surrogate in a decoded field survives as its escape, never fails here.
        "fields": json.dumps(fields, default=str),
        "dead_lettered_at": datetime.now(UTC).isoformat(),
    }
    flat = [item for pair in record.items() for item in pair]
    return client.eval(_DEAD_LETTER_SCRIPT, 2, marker, DEAD_LETTER_STREAM, DEAD_LETTER_DEDUP_TTL_S,
                       MAX_DEAD_LETTERS, *flat)
