"""Tweets as knowledge: one node per tweet, id = tweet id, or a reason why it is left out.

Input is the MongoDB `tweets` document (`Tweet.to_document()` plus `partition_date`). The node's
hash covers the text and the facts that do not change (author, time, tags); engagement counts change
on every re-scrape, so they are returned separately as metadata to attach after de-duplication —
a tweet is re-embedded only when its text changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from llama_index.core.schema import TextNode

from impressox_pipelines.rag.documents import SkippedInput
from impressox_pipelines.rag.metadata import VOLATILE_FIELDS, sanitize_metadata

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w{1,15}")
# Fewer letters/digits than this (after removing URLs and @mentions) is no content to search for.
MIN_WORD_CHARS = 2


def tweet_url(handle: str | None, tweet_id: str) -> str:
    """The canonical x.com link of a tweet (`https://x.com/<handle>/status/<id>`)."""
    return f"https://x.com/{handle or 'i'}/status/{tweet_id}"


def skip_reason(text: str | None) -> str | None:
    """Why a tweet text carries nothing to search for, or `None` when it does."""
    if not text or not text.strip():
        return "empty text"
    without_urls = _URL.sub(" ", text)
    remainder = _MENTION.sub(" ", without_urls)
    if sum(ch.isalnum() for ch in remainder) >= MIN_WORD_CHARS:
        return None
    if without_urls.strip() != text.strip() and not _MENTION.sub("", without_urls).strip():
        return "only URLs (and mentions)"
    if not remainder.strip():
        return "only mentions"
    return "only emoji or symbols, no words"


def tweet_nodes(
    documents: Iterable[dict[str, Any]],
    include_promoted: bool = False,
) -> tuple[list[TextNode], dict[str, dict[str, Any]], list[SkippedInput]]:
    """Nodes for the given tweet documents.

    Returns `(nodes, volatile_metadata_by_node_id, skipped)`. Retweets whose original is among the
    documents are skipped (the original carries the same text), and so are promoted tweets (ads,
    `is_promoted`) unless `include_promoted`, and tweets with a NaN or infinite number (the reason names
    the field). Node metadata: `kind="tweet"`,
    `source` (x.com link), `tweet_id`, `author_handle`, `author_id`, `created_at` (ISO) and
    `created_at_ts` (epoch s), `partition_date`, `lang`, `hashtags`/`cashtags` (comma-joined).
    """
    docs = list(documents)
    ids = {str(doc.get("_id") or doc.get("id")) for doc in docs}
    nodes, volatile, skipped = [], {}, []
    seen: set[str] = set()
    for doc in docs:
        tweet_id = str(doc.get("_id") or doc.get("id") or "")
        source = tweet_url(doc.get("author_handle"), tweet_id) if tweet_id else "tweet without id"
        if not tweet_id:
            skipped.append(SkippedInput(source, "no tweet id"))
            continue
        if tweet_id in seen:
            continue
        seen.add(tweet_id)
        if doc.get("is_promoted") and not include_promoted:
            skipped.append(SkippedInput(source, "promoted tweet (an ad)"))
            continue
        retweeted = doc.get("retweeted_id")
        if retweeted and str(retweeted) in ids:
            skipped.append(SkippedInput(source, f"retweet of {retweeted}, whose original is embedded"))
            continue
        text = doc.get("text")
        reason = skip_reason(text if isinstance(text, str) else None)
        if reason:
            skipped.append(SkippedInput(source, reason))
            continue
        created_at = doc.get("created_at")
        if isinstance(created_at, datetime) and created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        partition_date = doc.get("partition_date") or (
            created_at.astimezone(UTC).strftime("%Y-%m-%d") if isinstance(created_at, datetime) else None
        )
        try:
            metadata = sanitize_metadata(
                {
                    "kind": "tweet",
                    "source": source,
                    "title": f"@{doc.get('author_handle')}" if doc.get("author_handle") else "tweet",
                    "tweet_id": tweet_id,
                    "author_handle": doc.get("author_handle"),
                    "author_id": doc.get("author_id"),
                    "created_at": created_at,
                    "partition_date": partition_date,
                    "lang": doc.get("lang"),
                    "hashtags": doc.get("hashtags"),
                    "cashtags": doc.get("cashtags"),
                }
            )
            counts = sanitize_metadata({key: doc.get(key) for key in VOLATILE_FIELDS})
        except ValueError as exc:
            skipped.append(SkippedInput(source, str(exc)))
            continue
        nodes.append(
            TextNode(
                id_=tweet_id,
                text=text.strip(),
                metadata=metadata,
                excluded_embed_metadata_keys=list(metadata),
                excluded_llm_metadata_keys=list(metadata),
            )
        )
        volatile[tweet_id] = counts
    return nodes, volatile, skipped
