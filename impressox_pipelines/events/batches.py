"""Cutting the backend event stream into batches, and keeping track of the batches until applied.

`redis_event_sensor` is the one reader of `impressox:events`. Each tick it reads the entries after its
cursor (ids only matter here: nothing is decoded, so no entry can stop the reader) and cuts them into
batches of at most `BatchPolicy.max_events`, so an event waits at most one sensor interval and a burst
becomes few runs; with `max_wait_s` > 0, a last, partial batch whose newest entry is younger than that
waits for the next tick too. Each batch is one run.

Every requested batch is recorded in the Redis hash `impressox:events:batches` (field `<first>..<last>`,
value JSON `{"requested_ms", "attempt"}`) and removed by the run that applied it. A batch still there
`redo_after_s` after it was requested, with no run of it in progress, is requested again under a new
run key (`attempt` + 1): the run failed, or was never launched because the daemon was stopping. The
applied-events record (`events.apply`) makes that repetition harmless.

Trimming: when a batch is applied, the stream is trimmed (XTRIM MINID, exact) below the first entry of
the oldest batch still recorded, or up to the batch's last entry when none is: Redis keeps only events
that are not applied yet, or that the sensor has not reached.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from impressox_pipelines.events.streams import parse_entry_id, read_after
from impressox_pipelines.stores import EVENT_BATCHES_KEY, EVENTS_STREAM


@dataclass(frozen=True)
class BatchPolicy:
    """How events are grouped into runs.

    max_events: entries per run at most. max_wait_s: how long the newest entry of a partial batch may
    wait for more (seconds). max_per_tick: entries one tick reads at most. redo_after_s: seconds after
    which a recorded batch that no run is working on is requested again.
    """

    max_events: int = 1000
    max_wait_s: float = 0.0
    max_per_tick: int = 20_000
    redo_after_s: float = 30.0


@dataclass(frozen=True)
class Batch:
    """The entries from `first` to `last` inclusive (`count` of them when planned)."""

    first: str
    last: str
    count: int = 0
    attempt: int = 1

    @property
    def key(self) -> str:
        return f"{self.first}..{self.last}"

    @property
    def run_key(self) -> str:
        return f"events:{self.key}" + (f":{self.attempt}" if self.attempt > 1 else "")

    @classmethod
    def from_key(cls, key: str, attempt: int = 1) -> Batch:
        """Raises ValueError for a key that is not `<id>..<id>`."""
        first, sep, last = key.partition("..")
        if not sep:
            raise ValueError(f"{key[:60]!r} is not a batch key")
        parse_entry_id(first)
        parse_entry_id(last)
        return cls(first, last, attempt=attempt)


class EventBatches:
    """Plans batches from `impressox:events` and keeps the record of those requested.

    `client` decodes replies; `raw_client` returns bytes (`events.streams.bytes_client`); `now_ms`
    gives the current time in epoch milliseconds.
    """

    def __init__(self, client: Any, raw_client: Any, policy: BatchPolicy = BatchPolicy(), *,
                 now_ms: Callable[[], int]):
        self.client = client
        self.raw_client = raw_client
        self.policy = policy
        self.now_ms = now_ms

    def plan(self, after: str) -> tuple[list[Batch], str]:
        """The new batches after the entry id `after`, and the id the cursor may move to."""
        ids = [entry_id for entry_id, _ in read_after(self.raw_client, EVENTS_STREAM, after, self.policy.max_per_tick)]
        chunks = [ids[i:i + self.policy.max_events] for i in range(0, len(ids), self.policy.max_events)]
        if chunks and len(chunks[-1]) < self.policy.max_events:
            newest_ms = parse_entry_id(chunks[-1][-1])[0]
            if self.now_ms() - newest_ms < self.policy.max_wait_s * 1000:
                chunks.pop()  # more may come: the next tick takes it
        batches = [Batch(chunk[0], chunk[-1], len(chunk)) for chunk in chunks]
        return batches, (batches[-1].last if batches else after)

    def record(self, batches: list[Batch]) -> None:
        """Record `batches` as requested now."""
        if batches:
            now = self.now_ms()
            self.client.hset(EVENT_BATCHES_KEY, mapping={
                b.key: json.dumps({"requested_ms": now, "attempt": b.attempt}) for b in batches})

    def overdue(self) -> list[Batch]:
        """Recorded batches requested more than `redo_after_s` ago, oldest first, with their next attempt.

        A record that cannot be read is dropped (its events are still in the stream only if a batch
        covering them is recorded too; the applied-events record keeps re-reading them harmless).
        """
        due = []
        limit = self.now_ms() - self.policy.redo_after_s * 1000
        for key, value in self.client.hgetall(EVENT_BATCHES_KEY).items():
            try:
                record = json.loads(value)
                batch = Batch.from_key(key, attempt=int(record["attempt"]) + 1)
                requested = float(record["requested_ms"])
            except (ValueError, KeyError, TypeError):
                self.client.hdel(EVENT_BATCHES_KEY, key)
                continue
            if requested <= limit:
                due.append(batch)
        return sorted(due, key=lambda b: parse_entry_id(b.first))

    def done(self, batch: Batch) -> int:
        """Forget `batch` and trim the stream below every event still due; returns entries trimmed."""
        self.client.hdel(EVENT_BATCHES_KEY, batch.key)
        pending = [Batch.from_key(k).first for k in self.client.hkeys(EVENT_BATCHES_KEY) if ".." in k]
        if pending:
            floor = min(pending, key=parse_entry_id)
        else:
            ms, seq = parse_entry_id(batch.last)
            floor = f"{ms}-{seq + 1}"
        return int(self.client.xtrim(EVENTS_STREAM, minid=floor, approximate=False))
