"""The set of knowledge documents: a folder, plus documents the backend adds by event, kept in MongoDB.

Backend events (`impressox:events`, type `document.added`, data `{"path"?, "url"?, "title"?,
"source"?}` — see `events.backend`) are applied by the event layer's runs (`events.apply`), which
register each document in the Redis hash `impressox:rag:added_documents`. `path` is the file the
backend fetched; `url` where it came from; `source` an identity to use instead of the URL or path.

The loaded documents are stored in MongoDB `knowledge_documents` (`_id` = source): upserted when new
or changed, deleted when their file is gone or can no longer be read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impressox_pipelines.rag.documents import (
    DocumentSkipped,
    LoadedDocument,
    SkippedInput,
    discover_files,
    load_document,
)
from impressox_pipelines.stores import ADDED_DOCUMENTS_KEY

BUILTIN_DOCS = Path(__file__).with_name("builtin_docs")


def register_document(client: Any, entry_id: str, data: dict[str, Any]) -> str:
    """Register the document of a validated `document.added` event; returns its source identity.

    Idempotent: the same event registers the same source again.

    Raises:
        ValueError: when the event gives no `path` (the backend must fetch the document first).
    """
    if not data.get("path"):
        raise ValueError("no path: the backend must fetch the document and give the file's path")
    source = data.get("source") or data.get("url") or str(Path(data["path"]).expanduser().resolve())
    client.hset(ADDED_DOCUMENTS_KEY, source, json.dumps({**data, "entry_id": entry_id}))
    return source


def added_documents(client: Any) -> dict[str, dict[str, Any]]:
    """Documents registered by events: source → event data."""
    return {source: json.loads(raw) for source, raw in client.hgetall(ADDED_DOCUMENTS_KEY).items()}


def collect_documents(
    folder: Path, added: dict[str, dict[str, Any]], max_bytes: int
) -> tuple[list[LoadedDocument], list[SkippedInput]]:
    """Load every document of `folder` and every added one; returns `(documents, skipped)`.

    Raises:
        FileNotFoundError: when `folder` does not exist (a configuration error, not a bad input).
    """
    files, skipped = discover_files(folder)
    documents: list[LoadedDocument] = []
    for path in files:
        try:
            documents.append(load_document(path, max_bytes=max_bytes))
        except DocumentSkipped as exc:
            skipped.append(SkippedInput(str(path.resolve()), exc.reason))
    for source, data in sorted(added.items()):
        try:
            documents.append(load_document(
                Path(data["path"]), source=source, url=data.get("url"), title=data.get("title"), max_bytes=max_bytes
            ))
        except DocumentSkipped as exc:
            skipped.append(SkippedInput(source, exc.reason))
    unique: dict[str, LoadedDocument] = {}
    for document in documents:
        # A file both in the folder and added by an event is one document: the event's entry wins.
        unique[document.source] = document
    return list(unique.values()), skipped


@dataclass(frozen=True)
class SyncCounts:
    new: int
    changed: int
    unchanged: int
    removed: int


def sync_documents(collection: Any, documents: list[LoadedDocument]) -> SyncCounts:
    """Make the MongoDB collection hold exactly `documents` (by source); returns what changed.

    A document counts as changed when its text or title changed; one whose file was only touched
    keeps its stored record.
    """
    stored = {doc["_id"]: doc for doc in collection.find({}, {"content_hash": 1, "title": 1})}
    new = changed = unchanged = 0
    for document in documents:
        record = document.to_record()
        previous = stored.get(document.source)
        if previous is None:
            new += 1
        elif (previous.get("content_hash"), previous.get("title")) != (record["content_hash"], record["title"]):
            changed += 1
        else:
            unchanged += 1  # a file touched but not changed keeps its record (and its mtime)
            continue
        collection.replace_one({"_id": document.source}, record, upsert=True)
    gone = sorted(set(stored) - {document.source for document in documents})
    if gone:
        collection.delete_many({"_id": {"$in": gone}})
    return SyncCounts(new=new, changed=changed, unchanged=unchanged, removed=len(gone))
