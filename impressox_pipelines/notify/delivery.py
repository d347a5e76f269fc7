"""Delivering the outbox: fan-out, preferences, rate limits, retries, idempotency and dead letters.

For each outbox entry (read through `OutboxReader`), each recipient is decided (inactive, unsubscribed,
muted, quiet hours: silent or deferred to the digest), the message is rendered and split, and every part
is sent through a `Channel` under these rules:

- Rate limits (Bot API FAQ, https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
  30 messages/s overall, 1/s per private chat, 20/min per group, as aiolimiter leaky buckets.
- Retries (tenacity): `RetryAfter` waits the `retry_after` Telegram asks for; timeouts and network
  errors back off exponentially with jitter; after `max_attempts` the message is dead-lettered with the
  last error. Permanent errors are never retried: "Forbidden" (bot blocked, user deactivated, kicked)
  and "chat not found" mark the chat inactive; other rejections (e.g. "can't parse entities") are
  dead-lettered.
- Idempotency: each part has a delivery key `<idempotency_key>:<chat_id>:<part>/<parts>`, the `_id` of
  its record in `notification_deliveries`, whose status says what happened to it:
    `pending`  claimed by a run (`owner`), no request in flight: queued behind the rate limiter or
               waiting between retries. Never sent, or sent and known to have failed: safe to send.
    `sending`  a request is in flight; written immediately before each HTTP request and replaced by its
               outcome right after (`sent`, `pending` again for a retry, `failed`, `unknown`).
    `sent`     Telegram answered with the message; never sent again.
    `failed`   dead-lettered with the last error; a redrive releases it.
    `unknown`  the outcome was ambiguous and the policy said not to resend (below); settled, visible,
               not dead-lettered (nothing failed that a redrive should repeat).
    `skipped` / `deferred` record recipient decisions.
  A crashed run leaves its parts `pending` (sent by the next run, no operator needed) and at most the
  parts whose request was in flight `sending`. Another run takes a `pending`/`sending` record over only
  after it was untouched for the claim lease (`min_idle_ms`, longer than any request can last), so two
  live runs never send the same part; a part held by a live run leaves its entry pending, not acknowledged.
- Ambiguous outcomes: a part left `sending` by a stopped run, or a request that failed after it may
  have reached Telegram (a read or write timeout, a connection dropped before the answer; not a
  connect or pool timeout, which python-telegram-bot raises before anything is sent). `RetryPolicy.
  ambiguous` decides: "resend" (default) sends it again, so a price alert is never silently missing;
  the cost is a possible duplicate, which for a short alert is the lesser harm. "skip" records the part
  `unknown` and goes on with the message's other parts. Each one is counted in the report
  (`ambiguous`, `ambiguous_resent`, `ambiguous_skipped`; an ambiguous failure on the last allowed
  attempt is in neither of the last two but dead-lettered with the error) and in the part's record
  (`ambiguous`: how many times).
- An entry is acknowledged (XACK) only after all its recipients have an outcome, so a crash leaves it
  pending for the next run to reclaim.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import httpx
import redis
from aiolimiter import AsyncLimiter
from pymongo import IndexModel
from pymongo.errors import DuplicateKeyError
from telegram import error as tg
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from impressox_pipelines.events.codec import PoisonEntry, RawFields, raw_fields
from impressox_pipelines.events.dead_letters import dead_letter
from impressox_pipelines.events.outbox import OutboxMessage, OutboxReader, parse_entry
from impressox_pipelines.events.streams import bytes_client
from impressox_pipelines.notify.channels import Channel
from impressox_pipelines.notify.digest import DigestQueue
from impressox_pipelines.notify.formatting import UnsplittableMessage, plain_text, render, split_message
from impressox_pipelines.notify.preferences import KIND_TOPIC, Preferences, PreferenceStore
from impressox_pipelines.stores import DEAD_LETTER_STREAM, DELIVERIES_COLLECTION, NOTIFICATIONS_STREAM

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------ rate limits


@dataclass(frozen=True)
class RateLimits:
    """Telegram's broadcast limits (messages per period)."""

    overall_per_second: float = 30
    private_chat_per_second: float = 1
    group_per_minute: float = 20


def is_group_chat(chat_id: int | str) -> bool:
    """Groups, supergroups and channels have negative ids or are addressed as "@username"."""
    return isinstance(chat_id, str) or chat_id < 0


class TelegramRateLimiter:
    """One overall aiolimiter bucket plus one per chat (private: per second, group: per minute)."""

    def __init__(self, limits: RateLimits = RateLimits()):
        self.limits = limits
        self._overall = AsyncLimiter(limits.overall_per_second, 1)
        self._chats: dict[int | str, AsyncLimiter] = {}

    def _chat(self, chat_id: int | str) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            if is_group_chat(chat_id):
                limiter = AsyncLimiter(self.limits.group_per_minute, 60)
            else:
                limiter = AsyncLimiter(self.limits.private_chat_per_second, 1)
            self._chats[chat_id] = limiter
        return limiter

    async def acquire(self, chat_id: int | str) -> None:
        """Wait until a message to `chat_id` may be sent now."""
        chat = self._chat(chat_id)
        # Wait for the chat's bucket without taking from it, then take the overall token, then the
        # chat's: the chat token is taken at the moment of sending (so a long overall wait cannot put two
        # sends to one chat closer than its limit), and no overall token is held while a chat is throttled.
        pause = chat.time_period / chat.max_rate / 10
        while not chat.has_capacity():
            await asyncio.sleep(pause)
        await self._overall.acquire()
        await chat.acquire()


# ------------------------------------------------------------------------------------------ errors


class ErrorClass(StrEnum):
    RETRY_AFTER = "retry_after"  # flood control: wait as asked, then retry
    TRANSIENT = "transient"  # timeout / network: retry with backoff
    CHAT_GONE = "chat_gone"  # blocked, deactivated, chat not found: deactivate, never retry
    REJECTED = "rejected"  # this message is refused (bad markup, too long): dead-letter


class DeliveryAborted(RuntimeError):
    """The channel itself is unusable (invalid token, wrong endpoint): nothing more can be sent."""


_CHAT_GONE_BAD_REQUESTS = ("chat not found", "user not found", "peer_id_invalid", "chat_id is empty")


def classify(exc: BaseException) -> ErrorClass:
    """How a failed `sendMessage` is handled (python-telegram-bot's exception hierarchy).

    Raises:
        DeliveryAborted: for `InvalidToken`, `EndPointNotFound` and `Conflict`.
    """
    if isinstance(exc, tg.RetryAfter):
        return ErrorClass.RETRY_AFTER
    if isinstance(exc, (tg.InvalidToken, tg.EndPointNotFound, tg.Conflict)):
        raise DeliveryAborted(f"{type(exc).__name__}: the bot token or API URL is not usable") from exc
    if isinstance(exc, tg.Forbidden):
        return ErrorClass.CHAT_GONE
    if isinstance(exc, tg.BadRequest):  # a NetworkError subclass, so checked before it
        text = str(exc).lower()
        return ErrorClass.CHAT_GONE if any(m in text for m in _CHAT_GONE_BAD_REQUESTS) else ErrorClass.REJECTED
    if isinstance(exc, (tg.TimedOut, tg.NetworkError)):
        return ErrorClass.TRANSIENT
    if isinstance(exc, tg.TelegramError):  # ChatMigrated and the rest: this message cannot go as is
        return ErrorClass.REJECTED
    return ErrorClass.TRANSIENT  # I/O errors of other channels (disk full, connection reset)


# httpx failures before the request was written: nothing reached Telegram.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def is_ambiguous(exc: BaseException) -> bool:
    """Whether a failed request may still have reached Telegram: python-telegram-bot's `TimedOut` or
    `NetworkError` caused by an httpx transport error after connecting (read or write timeout, the
    connection dropped before the answer). An error answer from Telegram (4xx, 5xx) is not ambiguous."""
    if not isinstance(exc, tg.NetworkError) or isinstance(exc, tg.BadRequest):
        return False
    cause = exc.__cause__
    return isinstance(cause, httpx.TransportError) and not isinstance(cause, _NOT_SENT)


def retry_after_seconds(exc: tg.RetryAfter) -> float:
    value = exc._retry_after  # the timedelta behind the deprecated int/timedelta `retry_after` property
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


@dataclass(frozen=True)
class RetryPolicy:
    """How long one part is retried.

    `max_attempts` counts attempts that fail with a transient error (the first included), with
    exponential backoff between them. Flood-control answers are not failures of the message: they are
    waited out as asked, up to `max_retry_after_waits` times per part and only when `retry_after` is at
    most `max_retry_after_s` (a longer one dead-letters the message for a later redrive). `ambiguous`
    is the policy for an outcome that may or may not have reached Telegram (see the module docstring).
    """

    max_attempts: int = 5
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 300.0
    max_retry_after_waits: int = 10
    ambiguous: Literal["resend", "skip"] = "resend"


# ------------------------------------------------------------------------------------------ delivery log


class DeliveryLog:
    """`notification_deliveries`: one record per part and recipient, `_id` = the delivery key.

    Part status: `pending` → `sending` → `sent` | `pending` (retry) | `failed` | `unknown`; `skipped` and
    `deferred` record recipient decisions (see the module docstring). Records of parts carry `owner`
    (the run holding them), `attempts` (requests started), `ambiguous` and `last_error`.
    """

    def __init__(self, db: Any):
        self.coll = db[DELIVERIES_COLLECTION]
        self.coll.create_indexes([IndexModel([("idempotency_key", 1), ("chat_id", 1)]),
                                  IndexModel([("status", 1)])])

    def decide(self, key: str, meta: dict[str, Any], status: str) -> None:
        """Record a recipient decision (`skipped`, `deferred`) unless the key has a record already."""
        now = datetime.now(UTC)
        try:
            self.coll.insert_one({"_id": key, **meta, "status": status, "claimed_at": now, "updated_at": now})
        except DuplicateKeyError:
            pass

    def claim(self, key: str, meta: dict[str, Any], owner: str, lease_s: float) -> str:
        """Make the part `owner`'s to send, as `pending`.

        Returns:
            "claimed"    new, or left `pending` by a run that stopped (untouched for `lease_s` seconds)
            "ambiguous"  left `sending` by a run that stopped: now `owner`'s, the caller applies the policy
            "busy"       another run holds it (`pending` or `sending`, touched within `lease_s`)
            otherwise the status it has: "sent", "failed", "unknown", "skipped", "deferred"
        """
        now = datetime.now(UTC)
        try:
            self.coll.insert_one({"_id": key, **meta, "status": "pending", "owner": owner, "attempts": 0,
                                  "ambiguous": 0, "claimed_at": now, "updated_at": now})
            return "claimed"
        except DuplicateKeyError:
            pass
        # One atomic update each: when two runs race for a stale record, exactly one gets it.
        takeover = {"$or": [{"owner": owner}, {"updated_at": {"$lt": now - timedelta(seconds=lease_s)}}]}
        take = {"status": "pending", "owner": owner, "updated_at": now}
        if self.coll.find_one_and_update({"_id": key, "status": "pending", **takeover}, {"$set": take}):
            return "claimed"
        if self.coll.find_one_and_update({"_id": key, "status": "sending", **takeover},
                                         {"$set": take, "$inc": {"ambiguous": 1}}):
            return "ambiguous"
        existing = self.coll.find_one({"_id": key}, {"status": 1})
        status = existing["status"] if existing else "pending"
        return "busy" if status in ("pending", "sending") else status

    def start(self, key: str, owner: str) -> bool:
        """`pending` → `sending` just before a request; False when another run has taken the part over."""
        result = self.coll.update_one({"_id": key, "status": "pending", "owner": owner},
                                      {"$set": {"status": "sending", "updated_at": datetime.now(UTC)},
                                       "$inc": {"attempts": 1}})
        return result.modified_count == 1

    def mark(self, key: str, status: str, **fields: Any) -> None:
        self.coll.update_one({"_id": key}, {"$set": {"status": status, "updated_at": datetime.now(UTC), **fields}})

    def count_ambiguous(self, key: str) -> None:
        self.coll.update_one({"_id": key}, {"$inc": {"ambiguous": 1}})

    def release(self, idempotency_key: str, chat_id: int | str) -> int:
        """Forget failed parts of one message to one chat, so a redrive may send them."""
        result = self.coll.delete_many({"idempotency_key": idempotency_key, "chat_id": chat_id,
                                        "status": "failed"})
        return result.deleted_count


# ------------------------------------------------------------------------------------------ the run


@dataclass
class DeliveryReport:
    """What one delivery run did. Counts are per recipient, except `parts_sent` and the `ambiguous*`
    counts (per outcome: one part can time out twice). `left_to_another_run`: recipients with a part a
    live run holds, whose entries stay pending."""

    entries: int = 0
    reclaimed: int = 0
    invalid_entries: int = 0
    recipients: int = 0
    delivered: int = 0
    parts_sent: int = 0
    silent: int = 0
    duplicates_suppressed: int = 0
    deferred: int = 0
    skipped: Counter = field(default_factory=Counter)
    deactivated: int = 0
    dead_lettered: int = 0
    retries: int = 0
    retry_after_waits: int = 0
    vanished: int = 0
    ambiguous: int = 0
    ambiguous_resent: int = 0
    ambiguous_skipped: int = 0
    left_to_another_run: int = 0
    trimmed: int = 0
    errors: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if not isinstance(v, Counter)}
        data["skipped"] = dict(self.skipped)
        data["errors"] = dict(self.errors.most_common(10))
        return data


@dataclass(frozen=True)
class _Job:
    message: OutboxMessage
    chat_id: int | str
    prefs: Preferences | None


class _TakenOver(Exception):
    """Another run took the part over (this one stalled past the claim lease): it is no longer ours."""


class _Ambiguous(Exception):
    """The request may have reached Telegram and the policy says not to resend."""


class _PartFailed(Exception):
    def __init__(self, error_class: ErrorClass, error: str):
        super().__init__(error)
        self.error_class = error_class
        self.error = error


class Deliverer:
    """Delivers the outbox through one channel (see the module docstring for the rules).

    `limits` None disables rate limiting (for the local outbox file). `now` gives the current UTC time
    (quiet hours are evaluated against it). `sleep(seconds)` is how the run waits between retries
    (`retry_after` and backoff; tests pass a clock that records the waits). `min_idle_ms` is how long
    an entry or a part's claim must be untouched before this run takes it over from another one.
    """

    def __init__(
        self,
        *,
        redis_client: redis.Redis,
        raw_client: redis.Redis | None = None,
        db: Any,
        channel: Channel,
        consumer: str,
        limits: RateLimits | None = RateLimits(),
        retry: RetryPolicy = RetryPolicy(),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        min_idle_ms: int = 300_000,
        batch_size: int = 1000,
        stream: str = NOTIFICATIONS_STREAM,
    ):
        self.redis = redis_client
        self.channel = channel
        self.reader = OutboxReader(raw_client if raw_client is not None else bytes_client(redis_client), consumer,
                                   stream=stream, min_idle_ms=min_idle_ms)
        self.limits = limits
        self.retry = retry
        self.now = now
        self.sleep = sleep
        # Unique per run even when consumer names repeat, so a crashed run's claims are never "ours".
        self.owner = f"{consumer}:{uuid.uuid4().hex[:8]}"
        self.lease_s = min_idle_ms / 1000
        self._held_elsewhere: set[str] = set()  # entry ids with a part another live run holds
        self.batch_size = batch_size
        self.stream = stream
        self.log = DeliveryLog(db)
        self.preferences = PreferenceStore(db)
        self.digests = DigestQueue(db)
        self.report = DeliveryReport()
        self._limiter: TelegramRateLimiter | None = None

    async def run(self, max_entries: int = 100_000) -> DeliveryReport:
        """Deliver pending and new outbox entries until none are left (or `max_entries` were handled).

        Raises:
            DeliveryAborted: when the channel is unusable; unacknowledged entries stay pending.
        """
        self._limiter = TelegramRateLimiter(self.limits) if self.limits else None
        self.reader.ensure_group()
        while self.report.entries < max_entries:
            count = min(self.batch_size, max_entries - self.report.entries)
            batch = self.reader.reclaim(count)
            self.report.reclaimed += len(batch)
            if len(batch) < count:
                batch += self.reader.read_new(count - len(batch))
            if not batch:
                break
            await self._deliver_batch(batch)
        self.reader.retire()
        self.report.vanished = self.reader.vanished
        self.report.trimmed = self.reader.trim()
        return self.report

    async def deliver_entry(self, entry_id: str, read_ahead: int = 20) -> DeliveryReport:
        """Deliver one outbox entry now: for a message that must not wait for a delivery run (a price
        alert), delivered by the run that built it.

        The entry is read through the consumer group when it is among the next `read_ahead` unread
        entries (the usual case: it was just appended), so the group holds nothing more and no delivery
        run is requested for it; those other entries are delivered too. Otherwise it is read directly,
        and the delivery log keys make the group's later read of it find every part sent (counted as a
        duplicate). An entry no longer in the stream (trimmed) is counted in `skipped`.

        Raises:
            DeliveryAborted: when the channel is unusable; the entry stays for the delivery run.
        """
        self._limiter = TelegramRateLimiter(self.limits) if self.limits else None
        self.reader.ensure_group()
        batch = self.reader.read_new(read_ahead)
        if batch:
            await self._deliver_batch(batch)
        if any(read_id == entry_id for read_id, _ in batch):
            return self.report
        entries = self.reader.read_one(entry_id)
        if not entries:
            self.report.skipped["entry no longer in the outbox"] += 1
            return self.report
        await self._deliver_batch(entries, acknowledge=False)
        return self.report

    async def _deliver_batch(self, batch: list[tuple[str, RawFields]], acknowledge: bool = True) -> None:
        jobs: dict[int | str, list[_Job]] = defaultdict(list)
        valid: list[OutboxMessage] = []
        for entry_id, raw in batch:
            self.report.entries += 1
            try:
                valid.append(parse_entry(entry_id, raw))
            except PoisonEntry as exc:
                self.report.invalid_entries += 1
                self.report.errors[f"invalid outbox entry: {exc}"[:120]] += 1
                dead_letter(self.redis, stream=self.stream, entry_id=entry_id, fields=raw_fields(raw),
                            reason=f"invalid outbox entry: {exc}")
                if acknowledge:
                    self.reader.ack([entry_id])
        explicit = [m.chat_id for m in valid if isinstance(m.chat_id, int)]
        known = self.preferences.get_many(explicit)
        audiences: dict[str, list[Preferences]] = {}
        for message in valid:
            if message.audience is not None:
                if message.audience not in audiences:
                    audiences[message.audience] = self.preferences.subscribers(message.audience)
                text = plain_text(render(message.kind, message.payload))
                if not audiences[message.audience]:
                    self.report.skipped[f"no subscribers to {message.audience}"] += 1
                for prefs in audiences[message.audience]:
                    if prefs.matches_keywords(text):
                        jobs[prefs.chat_id].append(_Job(message, prefs.chat_id, prefs))
                    else:
                        self.report.skipped["keywords did not match"] += 1
            else:
                jobs[message.chat_id].append(_Job(message, message.chat_id, known.get(message.chat_id)))
        await asyncio.gather(*(self._deliver_chat(chat_jobs) for chat_jobs in jobs.values()))
        if acknowledge:
            self.reader.ack([m.entry_id for m in valid if m.entry_id not in self._held_elsewhere])

    async def _deliver_chat(self, jobs: list[_Job]) -> None:
        # One chat's messages go out in outbox order; once a chat is gone, the rest are skipped.
        gone = False
        for job in jobs:
            self.report.recipients += 1
            if gone:
                self._record_decision(job, "skipped", "chat became inactive during this run")
                continue
            gone = await self._deliver_one(job) == "deactivated"

    def _base_key(self, job: _Job) -> str:
        return f"{job.message.idempotency_key}:{job.chat_id}"

    def _meta(self, job: _Job) -> dict[str, Any]:
        return {"idempotency_key": job.message.idempotency_key, "chat_id": job.chat_id,
                "entry_id": job.message.entry_id, "kind": job.message.kind}

    def _record_decision(self, job: _Job, status: str, reason: str) -> None:
        if status == "skipped":
            self.report.skipped[reason] += 1
        self.log.decide(self._base_key(job), {**self._meta(job), "reason": reason, "part": 0}, status)

    async def _deliver_one(self, job: _Job) -> str:
        message, prefs = job.message, job.prefs
        silent = False
        if prefs is not None:
            topic = KIND_TOPIC.get(message.kind)
            if not prefs.active:
                self._record_decision(job, "skipped", "inactive")
                return "skipped"
            if not prefs.subscribed(topic):
                self._record_decision(job, "skipped", f"not subscribed to {topic}")
                return "skipped"
            if prefs.muted and message.kind != "text":
                self._record_decision(job, "skipped", "muted")
                return "skipped"
            if message.kind != "digest" and prefs.in_quiet_hours(self.now()):
                # Deferring needs a digest to land in; without the subscription it would be lost.
                if prefs.quiet_hours.mode == "defer" and prefs.subscribed("digest"):
                    self.digests.defer(self._base_key(job), prefs.chat_id, message.kind, message.payload)
                    self._record_decision(job, "deferred", "quiet hours")
                    self.report.deferred += 1
                    return "deferred"
                silent = True
        try:
            parts = split_message(render(message.kind, message.payload))
        except UnsplittableMessage as exc:
            return self._dead_letter(job, f"cannot split: {exc}")
        sent_now = unknown_now = 0
        for index, text in enumerate(parts, start=1):
            key = f"{self._base_key(job)}:{index}/{len(parts)}"
            state = self.log.claim(key, {**self._meta(job), "part": index, "parts": len(parts)}, self.owner,
                                   self.lease_s)
            if state in ("sent", "unknown"):
                continue
            if state == "busy":
                return self._leave_to_another_run(job)
            if state not in ("claimed", "ambiguous"):  # failed earlier and dead-lettered; a redrive releases it
                self.report.skipped[f"previously {state}"] += 1
                return "skipped"
            if state == "ambiguous":
                self.report.ambiguous += 1
                if self.retry.ambiguous == "skip":
                    self._settle_unknown(key, "a run stopped while this part was being sent")
                    unknown_now += 1
                    continue
                self.report.ambiguous_resent += 1
            try:
                sent = await self._send(key, job.chat_id, text, silent)
            except _TakenOver:
                return self._leave_to_another_run(job)
            except _Ambiguous as exc:
                self._settle_unknown(key, str(exc))
                unknown_now += 1
                continue
            except _PartFailed as failure:
                self.report.errors[failure.error[:120]] += 1
                self.log.mark(key, "failed", error=failure.error)
                if failure.error_class is ErrorClass.CHAT_GONE:
                    if isinstance(job.chat_id, int):
                        self.preferences.deactivate(job.chat_id, failure.error)
                    self.report.deactivated += 1
                    return "deactivated"
                return self._dead_letter(job, failure.error)
            self.log.mark(key, "sent", message_id=sent.get("message_id"), sent_at=datetime.now(UTC), silent=silent)
            self.report.parts_sent += 1
            sent_now += 1
        if sent_now == 0:
            if unknown_now:
                return "unknown"
            self.report.duplicates_suppressed += 1
            return "duplicate"
        self.report.delivered += 1
        self.report.silent += int(silent)
        return "sent"

    def _settle_unknown(self, key: str, reason: str) -> None:
        # Not dead-lettered: a redrive would resend what the policy chose not to resend.
        self.log.mark(key, "unknown", error=f"ambiguous outcome, not resent (policy 'skip'): {reason}"[:500])
        self.report.ambiguous_skipped += 1

    def _leave_to_another_run(self, job: _Job) -> str:
        # The entry stays pending; whoever reclaims it later finds the part settled (or stale).
        self._held_elsewhere.add(job.message.entry_id)
        self.report.left_to_another_run += 1
        return "left"

    def _dead_letter(self, job: _Job, reason: str) -> str:
        fields = dict(job.message.fields)
        fields.update(chat_id=str(job.chat_id), audience="")
        dead_letter(self.redis, stream=self.stream, entry_id=job.message.entry_id, fields=fields,
                    reason=reason, dedup_key=f"{self.stream}:{job.message.entry_id}:{job.chat_id}")
        self.report.dead_lettered += 1
        return "dead_lettered"

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, tg.RetryAfter):
            self.report.retry_after_waits += 1
            return retry_after_seconds(exc)
        return wait_exponential_jitter(initial=self.retry.initial_backoff_s, max=self.retry.max_backoff_s)(state)

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, (_TakenOver, _Ambiguous)):
            return False
        kind = classify(exc)
        if kind is ErrorClass.RETRY_AFTER:
            return retry_after_seconds(exc) <= self.retry.max_retry_after_s
        return kind is ErrorClass.TRANSIENT

    async def _attempt(self, key: str, chat_id: int | str, text: str, silent: bool) -> dict[str, Any]:
        """One request, with the part `sending` exactly while it is in flight.

        Raises:
            _TakenOver: another run holds the part now; nothing was sent.
            _Ambiguous: the request may have reached Telegram and the policy is "skip".
            Exception: the channel's error, the part `pending` again (nothing reached Telegram, or the
                policy is "resend").
        """
        if not self.log.start(key, self.owner):
            raise _TakenOver
        try:
            return await self.channel.send_message(chat_id, text, parse_mode="HTML", disable_notification=silent)
        except Exception as exc:
            if is_ambiguous(exc):
                self.report.ambiguous += 1
                self.log.count_ambiguous(key)
                if self.retry.ambiguous == "skip":
                    raise _Ambiguous(describe(exc)) from exc
            self.log.mark(key, "pending", last_error=describe(exc))
            raise

    async def _send(self, key: str, chat_id: int | str, text: str, silent: bool) -> dict[str, Any]:
        """Send one part with rate limiting and retries; returns the sent message.

        Raises:
            _PartFailed: with the error class and the last error once retrying is over.
            _TakenOver, _Ambiguous: see `_attempt`.
            DeliveryAborted: when the channel is unusable (the part is left `pending`).
        """
        failures = {ErrorClass.RETRY_AFTER: 0, ErrorClass.TRANSIENT: 0}

        def stop(state: RetryCallState) -> bool:  # only asked about retryable failures
            exc = state.outcome.exception() if state.outcome else None
            kind = ErrorClass.RETRY_AFTER if isinstance(exc, tg.RetryAfter) else ErrorClass.TRANSIENT
            failures[kind] += 1
            if kind is ErrorClass.RETRY_AFTER:
                return failures[kind] > self.retry.max_retry_after_waits
            return failures[kind] >= self.retry.max_attempts

        def count_retry(state: RetryCallState) -> None:
            self.report.retries += 1
            if state.outcome and is_ambiguous(state.outcome.exception()):
                self.report.ambiguous_resent += 1

        retrying = AsyncRetrying(
            sleep=self.sleep,
            stop=stop,
            wait=self._wait,
            retry=retry_if_exception(self._retryable),
            before_sleep=count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if self._limiter is not None:
                        await self._limiter.acquire(chat_id)
                    sent = await self._attempt(key, chat_id, text, silent)
        except (DeliveryAborted, _TakenOver, _Ambiguous):
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
            kind = classify(exc)
            error = describe(exc)
            if kind is ErrorClass.RETRY_AFTER:
                error += f" (retry_after {retry_after_seconds(exc):.0f} s exceeds {self.retry.max_retry_after_s:.0f} s)"
            elif kind is ErrorClass.TRANSIENT:
                error += f" (after {failures[ErrorClass.TRANSIENT]} attempts)"
            raise _PartFailed(kind, error) from None
        return sent


def redrive(redis_client: redis.Redis, db: Any, *, limit: int = 1000,
            stream: str = NOTIFICATIONS_STREAM) -> dict[str, int]:
    """Move dead-lettered outbox entries back to the outbox (oldest first).

    Each entry's failed delivery records are released first, so its unsent parts go out on
    the next delivery run; parts already sent are still never sent again. Dead letters from other
    streams (malformed backend events) are left in place and counted.

    Returns: counts `redriven`, `left` (other streams), `unreadable`.
    """
    deliveries = DeliveryLog(db)
    counts = Counter(redriven=0, left=0, unreadable=0)
    last = "-"
    while counts["redriven"] < limit:
        entries = redis_client.xrange(DEAD_LETTER_STREAM, min=last, count=100)
        entries = [e for e in entries if e[0] != last]
        if not entries:
            break
        for entry_id, record in entries:
            last = entry_id
            if counts["redriven"] >= limit:
                break
            if record.get("stream") != stream:
                counts["left"] += 1
                continue
            try:
                fields = json.loads(record.get("fields") or "")
                if not isinstance(fields, dict):
                    raise ValueError
            except ValueError:
                counts["unreadable"] += 1
                continue
            fields = {str(k): str(v) for k, v in fields.items()}
            if fields.get("idempotency_key") and fields.get("chat_id"):
                chat = fields["chat_id"]
                deliveries.release(fields["idempotency_key"], int(chat) if chat.lstrip("-").isdigit() else chat)
            # Appending before deleting: a crash in between leaves a duplicate entry, which the delivery
            # log turns into a no-op, rather than a lost one.
            redis_client.xadd(stream, fields)
            redis_client.xdel(DEAD_LETTER_STREAM, entry_id)
            counts["redriven"] += 1
    return dict(counts)
