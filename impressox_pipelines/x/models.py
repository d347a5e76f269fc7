"""Tweet records as the parser emits them and MongoDB stores them (after twscrape's small dataclasses).

Field names follow X's GraphQL where one exists (`rest_id` → `id`, `conversation_id_str` →
`conversation_id`, `note_tweet` text → `text`). Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Media:
    """One photo, video or animated GIF (`legacy.extended_entities.media[]`)."""

    type: str  # "photo" | "video" | "animated_gif"
    url: str  # media_url_https (for videos, the poster image)
    expanded_url: str | None = None
    video_url: str | None = None  # highest-bitrate mp4 variant, when a video


@dataclass
class Tweet:
    """One tweet, with its full text and the ids of the tweets it retweets or quotes."""

    id: str
    author_id: str
    author_handle: str
    author_name: str
    created_at: datetime
    text: str
    lang: str | None = None
    conversation_id: str | None = None
    in_reply_to_id: str | None = None
    retweeted_id: str | None = None
    quoted_id: str | None = None
    quoted_unavailable: bool = False  # the quoted tweet is a tombstone or unavailable (deleted, withheld, …)
    hashtags: list[str] = field(default_factory=list)
    cashtags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # expanded URLs
    media: list[Media] = field(default_factory=list)
    like_count: int = 0
    retweet_count: int = 0
    reply_count: int = 0
    quote_count: int = 0
    bookmark_count: int = 0
    view_count: int | None = None
    is_pinned: bool = False
    is_promoted: bool = False
    # Author facts used by airdrop scam detection (brand-new or impersonating accounts).
    author_followers_count: int | None = None
    author_created_at: datetime | None = None
    author_verified: bool = False
    source_operation: str | None = None  # GraphQL operation name, e.g. "SearchTimeline"
    scraped_at: datetime | None = None

    def to_document(self) -> dict[str, Any]:
        """The MongoDB document (`_id` is the tweet id, so upserts by id never duplicate)."""
        doc = asdict(self)
        doc["_id"] = self.id
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Tweet:
        data = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        data["media"] = [m if isinstance(m, Media) else Media(**m) for m in data.get("media") or []]
        return cls(**data)
