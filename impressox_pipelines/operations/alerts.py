"""Operator alerts for failed runs: the message texts and the storm throttle (no Dagster imports).

A failure storm (a broken scraper failing every partition of a backfill, a revoked token failing every
delivery run) must reach operators as a handful of messages, not hundreds. `AlertThrottle` allows at
most `max_alerts` messages per sliding `window_s` seconds; failures beyond that are queued in Redis and
sent later as one summary, so none is lost and the chat stays readable. While a summary is pending,
new failures join it instead of being sent one by one.

Messages use Telegram's HTML parse mode (https://core.telegram.org/bots/api#html-style): every
interpolated value is escaped; texts stay far below the 4,096-character limit of `sendMessage`.
"""

from __future__ import annotations

import html
import json
import os
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from impressox_pipelines.stores import OPERATOR_ALERTS_PENDING_KEY, OPERATOR_ALERTS_SENT_KEY

ENV_CHAT_ID = "IMPRESSOX_OPERATOR_CHAT_ID"
ENV_UI_URL = "IMPRESSOX_DAGSTER_UI_URL"
ENV_MAX_ALERTS = "IMPRESSOX_OPERATOR_ALERTS_PER_WINDOW"
ENV_WINDOW = "IMPRESSOX_OPERATOR_ALERT_WINDOW_S"


MAX_ERROR_CHARS = 300
MAX_LISTED = 8


@dataclass(frozen=True)
class OperatorAlertSettings:
    """Where and how often failure alerts go.

    `chat_id`: the operators' Telegram chat (`None`: alerts are logged, not sent); `max_alerts`: messages
    allowed per sliding `window_s` seconds; `ui_url`: the Dagster UI's base URL, for links to runs.
    """

    chat_id: str | None = None
    max_alerts: int = 3
    window_s: int = 600
    ui_url: str | None = None

    @classmethod
    def from_environment(cls) -> OperatorAlertSettings:
        """Read the (non-secret) settings from `IMPRESSOX_OPERATOR_*` and `IMPRESSOX_DAGSTER_UI_URL`.

        Raises:
            ValueError: when a number is not an integer >= 1, naming the variable.
        """
        return cls(
            chat_id=os.environ.get(ENV_CHAT_ID, "").strip() or None,
            max_alerts=_positive_int(ENV_MAX_ALERTS, 3),
            window_s=_positive_int(ENV_WINDOW, 600),
            ui_url=(os.environ.get(ENV_UI_URL, "").strip().rstrip("/") or None),
        )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer >= 1, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
    return value


@dataclass(frozen=True)
class RunFailure:
    """What operators need to know about one failed run.

    `asset_keys` are user strings (`a/b`); `error` is the first line of the root cause, already
    redacted; `failed_at` is epoch seconds.
    """

    run_id: str
    job_name: str
    error: str
    failed_at: float
    asset_keys: list[str] = field(default_factory=list)
    partition: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunFailure:
        return cls(**json.loads(text))


def first_error_line(text: str | None) -> str:
    """The first non-blank line of an error message, cut to `MAX_ERROR_CHARS` characters."""
    for line in (text or "").splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"
    return "(no error message)"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _run_ref(run_id: str, ui_url: str | None) -> str:
    short = _e(run_id[:8])
    return f'<a href="{_e(ui_url)}/runs/{_e(run_id)}">{short}</a>' if ui_url else f"<code>{short}</code>"


def _listed(items: list[str]) -> str:
    shown = ", ".join(f"<code>{_e(item)}</code>" for item in items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def format_failure_alert(failure: RunFailure, ui_url: str | None = None) -> str:
    """One failed run as a Telegram HTML message: job, run (linked when `ui_url` is set), assets, error."""
    lines = [f"🔴 <b>Run failed</b>: <code>{_e(failure.job_name)}</code>",
             f"run: {_run_ref(failure.run_id, ui_url)}"]
    if failure.asset_keys:
        lines.append(f"asset: {_listed(failure.asset_keys)}")
    if failure.partition:
        lines.append(f"partition: <code>{_e(failure.partition)}</code>")
    lines.append(f"error: <code>{_e(first_error_line(failure.error))}</code>")
    return "\n".join(lines)


def format_storm_summary(failures: list[RunFailure], ui_url: str | None = None) -> str:
    """Failures held back by the throttle as one message: counts per job and per error, time span.

    Raises:
        ValueError: when `failures` is empty.
    """
    if not failures:
        raise ValueError("a summary needs at least one failure")
    start = datetime.fromtimestamp(min(f.failed_at for f in failures), UTC).strftime("%H:%M")
    end = datetime.fromtimestamp(max(f.failed_at for f in failures), UTC).strftime("%H:%M")
    lines = [f"🔴 <b>{len(failures)} more failed runs</b> ({start}–{end} UTC), held back to avoid a flood"]
    for job, count in Counter(f.job_name for f in failures).most_common(MAX_LISTED):
        lines.append(f"• <code>{_e(job)}</code> × {count}")
    assets = sorted({key for f in failures for key in f.asset_keys})
    if assets:
        lines.append(f"assets: {_listed(assets)}")
    error, count = Counter(f.error for f in failures).most_common(1)[0]
    lines.append(f"most frequent error ({count}×): <code>{_e(first_error_line(error))}</code>")
    lines.append(f"latest run: {_run_ref(max(failures, key=lambda f: f.failed_at).run_id, ui_url)}")
    return "\n".join(lines)


# Atomically: forget sends older than the window, then take a slot if one is free.
_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


class AlertThrottle:
    """A sliding-window budget of operator messages, shared through Redis by every daemon and run.

    The window is measured on the `now` each caller passes (epoch seconds), never on a clock of its own:
    the key's expiry in Redis only reclaims the memory of a quiet window.

    Args:
        client: a redis-py client (`decode_responses=True`).
        max_alerts: messages allowed per window (>= 1).
        window_s: window length in seconds (>= 1).
    """

    def __init__(self, client: Any, max_alerts: int, window_s: int):
        if max_alerts < 1 or window_s < 1:
            raise ValueError("max_alerts and window_s must be >= 1")
        self.client = client
        self.max_alerts = max_alerts
        self.window_s = window_s

    def try_acquire(self, now: float) -> bool:
        """Take one message slot at time `now` (epoch seconds); False when the window is full."""
        member = f"{now:.6f}:{uuid.uuid4().hex}"
        return bool(self.client.eval(_ADMIT, 1, OPERATOR_ALERTS_SENT_KEY, now, self.window_s, self.max_alerts, member))

    def pending(self) -> int:
        """How many held-back failures await the next summary."""
        return int(self.client.llen(OPERATOR_ALERTS_PENDING_KEY))

    def admit_alert(self, now: float) -> bool:
        """Whether one failure may be sent on its own: no summary pending and a slot free."""
        return self.pending() == 0 and self.try_acquire(now)

    def hold(self, failure: RunFailure) -> None:
        """Queue a failure for the next summary."""
        self.client.rpush(OPERATOR_ALERTS_PENDING_KEY, failure.to_json())

    def peek_held(self) -> list[RunFailure]:
        """The held-back failures, oldest first (left in place until `release_held`)."""
        return [RunFailure.from_json(item) for item in self.client.lrange(OPERATOR_ALERTS_PENDING_KEY, 0, -1)]

    def release_held(self, count: int) -> None:
        """Drop the `count` oldest held-back failures, once their summary has been sent.

        Failures held after `peek_held` stay queued for the next summary.
        """
        self.client.ltrim(OPERATOR_ALERTS_PENDING_KEY, count, -1)
