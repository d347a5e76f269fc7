"""The set of knowledge documents: a folder, plus documents the backend adds by event, kept in MongoDB.

Backend events (`impressox:events`, type `document.added`, data `{"path"?, "url"?, "title"?,
"source"?}` — see `notify.backend_events`) are read with XRANGE from a cursor kept in Redis (no
consumer group, so other readers of the stream are unaffected) and registered in the Redis hash
`impressox:rag:added_documents`, which outlives any trimming of the stream. `path` is the file the
backend fetched; `url` where it came from; `source` an identity to use instead of the URL or path.

The loaded documents are stored in MongoDB `knowledge_documents` (`_id` = source): upserted when new
or changed, deleted when their file is gone or can no longer be read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from impressox_pipelines.events import EVENTS_STREAM
from impressox_pipelines.notify.backend_events import InvalidEvent, parse_event
from impressox_pipelines.rag.documents import (
    DocumentSkipped,
    LoadedDocument,
    SkippedInput,
    discover_files,
    load_document,
)

BUILTIN_DOCS = Path(__file__).with_name("builtin_docs")
DOCUMENTS_COLLECTION = "knowledge_documents"
ADDED_DOCUMENTS_KEY = "impressox:rag:added_documents"
EVENTS_CURSOR_KEY = "impressox:rag:document_events_cursor"
EVENT_TYPE = "document.added"


def register_document_events(client: Any, batch: int = 1000) -> tuple[int, list[SkippedInput]]:
    """Register the `document.added` events appended since the last call.

    Returns `(registered, invalid)`: how many documents were registered, and the events rejected
    with their reason (source = `event <entry id>`).
    """
    cursor = client.get(EVENTS_CURSOR_KEY) or "0-0"
    registered, invalid = 0, []
    while True:
        entries = client.xrange(EVENTS_STREAM, min=f"({cursor}", count=batch)
        if not entries:
            break
        for entry_id, fields in entries:
            cursor = entry_id
            if (fields or {}).get("type") != EVENT_TYPE:
                continue
            try:
                event = parse_event(entry_id, fields)
            except InvalidEvent as exc:
                invalid.append(SkippedInput(f"event {entry_id}", str(exc)))
                continue
            data = event.data
            if not data.get("path"):
                invalid.append(SkippedInput(
                    f"event {entry_id}", "no path: the backend must fetch the document and give the file's path"
                ))
                continue
            source = data.get("source") or data.get("url") or str(Path(data["path"]).expanduser().resolve())
            client.hset(ADDED_DOCUMENTS_KEY, source, json.dumps({**data, "entry_id": entry_id}))
            registered += 1
    client.set(EVENTS_CURSOR_KEY, cursor)
    return registered, invalid


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
