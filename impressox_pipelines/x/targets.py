"""Scrape targets (accounts and search queries) and the per-target, per-day resume cursors.

Targets come from configuration (`"@binance"` is an account, anything else a search query) and from the
MongoDB collection `x_targets`, which the ImpressoX backend fills through `scrape_target.added` events on
the Redis stream `impressox:events` (`data`: `{"kind": "user" | "search", "value": "binance"}`), applied
by the event layer's runs (`events.apply`).
Every target is scraped per UTC day through SearchTimeline with `since:`/`until:` bounds; an account
target becomes `from:<handle>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from impressox_pipelines.x.graphql import day_query


@dataclass(frozen=True)
class ScrapeTarget:
    """An account (`kind="user"`, value = handle without @) or a search query (`kind="search"`)."""

    kind: str
    value: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> ScrapeTarget:
        """`"@binance"` → user target; any other non-blank text → search target.

        Raises:
            ValueError: for blank text.
        """
        text = text.strip()
        if not text or text == "@":
            raise ValueError("a scrape target must not be blank")
        return cls("user", text[1:]) if text.startswith("@") else cls("search", text)

    def day_query(self, day: date) -> str:
        base = f"from:{self.value}" if self.kind == "user" else self.value
        return day_query(base, day)


def load_targets(configured: list[str], collection: Any) -> tuple[list[ScrapeTarget], list[str]]:
    """Configured targets followed by the active ones stored in MongoDB, without duplicates.

    Returns (targets, rejected) where rejected lists the reason for each unusable entry.
    """
    targets: dict[str, ScrapeTarget] = {}
    rejected = []
    for text in configured:
        try:
            target = ScrapeTarget.parse(text)
        except ValueError as exc:
            rejected.append(f"configured {text!r}: {exc}")
            continue
        targets.setdefault(target.id, target)
    for doc in collection.find({"active": {"$ne": False}}).sort("_id", 1):
        kind, value = doc.get("kind"), str(doc.get("value") or "").strip().lstrip("@")
        if kind not in ("user", "search") or not value:
            rejected.append(f"stored {doc.get('_id')!r}: kind must be user|search and value non-blank")
            continue
        target = ScrapeTarget(kind, value)
        targets.setdefault(target.id, target)
    return list(targets.values()), rejected


def store_target(collection: Any, target: ScrapeTarget) -> bool:
    """Add `target` to `x_targets` as active (a `scrape_target.added` event); returns True when it was
    not stored before. Idempotent: applying the same event again changes nothing."""
    result = collection.update_one(
        {"_id": target.id},
        {"$set": {"kind": target.kind, "value": target.value, "active": True},
         "$setOnInsert": {"added_at": datetime.now(UTC)}},
        upsert=True,
    )
    return result.upserted_id is not None


def remove_target(collection: Any, target: ScrapeTarget) -> bool:
    """Mark `target` inactive in `x_targets` (kept, with `removed_at`, so its history stays readable);
    `raw_tweets` no longer scrapes it. Returns True when it was active before."""
    result = collection.update_one({"_id": target.id, "active": {"$ne": False}},
                                   {"$set": {"active": False, "removed_at": datetime.now(UTC)}})
    return result.modified_count == 1


def stored_targets(collection: Any) -> list[dict[str, Any]]:
    """Every target document of `x_targets`, active or not, by id."""
    return list(collection.find({}).sort("_id", 1))


class CursorStore:
    """Per-target, per-day resume state in `x_scrape_cursors` (`_id` = "<target id>|<YYYY-MM-DD>").

    While a day is being scraped the last bottom cursor is saved after every page; an interrupted run
    resumes from it. A finished day is marked complete, and scraping it again starts from the top (to
    refresh counts); upserts by tweet id keep that from duplicating anything.
    """

    def __init__(self, collection: Any):
        self.collection = collection

    @staticmethod
    def key(target: ScrapeTarget, day: date) -> str:
        return f"{target.id}|{day.isoformat()}"

    def resume_cursor(self, target: ScrapeTarget, day: date) -> str | None:
        doc = self.collection.find_one({"_id": self.key(target, day)})
        return doc.get("cursor") if doc and not doc.get("complete") else None

    def save(self, target: ScrapeTarget, day: date, cursor: str | None, pages: int) -> None:
        self.collection.update_one(
            {"_id": self.key(target, day)},
            {"$set": {"cursor": cursor, "complete": False, "updated_at": datetime.now(UTC)},
             "$inc": {"pages": pages}},
            upsert=True,
        )

    def complete(self, target: ScrapeTarget, day: date) -> None:
        self.collection.update_one(
            {"_id": self.key(target, day)},
            {"$set": {"cursor": None, "complete": True, "updated_at": datetime.now(UTC)}},
            upsert=True,
        )
