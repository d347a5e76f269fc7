"""The detector's records: reasons, one tweet's assessment, and a deduplicated opportunity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# MongoDB collections: the scraper's tweets (`_id` = tweet id, `partition_date` "YYYY-MM-DD"), and ours.


@dataclass(frozen=True)
class Reason:
    """One signal that fired: `weight` is opportunity points (0-100 scale) or scam risk (1.0 flags)."""

    signal: str  # stable machine name, e.g. "airdrop_language", "seed_phrase_request"
    weight: float
    detail: str  # for people: what was found, quoted from the tweet where possible

    def to_document(self) -> dict[str, Any]:
        return {"signal": self.signal, "weight": self.weight, "detail": self.detail}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Reason:
        return cls(signal=doc["signal"], weight=float(doc["weight"]), detail=doc["detail"])

    def __str__(self) -> str:
        return f"{self.weight:+g} {self.signal}: {self.detail}"


@dataclass
class Assessment:
    """What the detector concluded about one tweet (read together with the original it quotes)."""

    tweet_id: str
    author_handle: str
    created_at: datetime | None
    text: str
    keywords: list[str]  # keyword-file terms found; empty means "not a candidate"
    score: float  # 0-100, the sum of `reasons` weights, capped
    reasons: list[Reason]
    scam_risk: float  # the sum of `scam_reasons` weights
    scam_reasons: list[Reason]
    scam_flag: bool  # scam_risk reached the flag threshold
    links: list[str]  # canonical link keys (`host/path?query`)
    cashtags: list[str]  # upper-case tickers without "$"
    root_tweet_id: str  # the original it retweets/quotes, else its own id
    dedup_keys: list[str]  # "tweet:<id>" / "link:<key>": assessments sharing a key are one opportunity
    scam_probability: float | None = None  # the scam text model's, when one is used
    skipped: str | None = None  # why it is not a candidate ("empty text", "no keyword matched", ...)

    def decision_document(self) -> dict[str, Any]:
        """What was decided about this tweet, as stored in an opportunity's `source_decisions`: `tweet_id`,
        `author_handle`, `root_tweet_id`, `keywords`, `score` (0-100), `reasons`, `scam_risk`, `scam_reasons`,
        `scam_flag`, `scam_probability` (None without a model)."""
        return {
            "tweet_id": self.tweet_id, "author_handle": self.author_handle, "root_tweet_id": self.root_tweet_id,
            "keywords": list(self.keywords), "score": self.score,
            "reasons": [r.to_document() for r in self.reasons],
            "scam_risk": self.scam_risk, "scam_reasons": [r.to_document() for r in self.scam_reasons],
            "scam_flag": self.scam_flag, "scam_probability": self.scam_probability,
        }

    @classmethod
    def from_decision(cls, doc: dict[str, Any], text: str = "") -> Assessment:
        """The assessment a `decision_document` recorded (links, cashtags and dedup keys are not kept).

        Raises `KeyError`/`TypeError`/`ValueError` on a document of another shape.
        """
        return cls(
            tweet_id=str(doc["tweet_id"]), author_handle=doc.get("author_handle") or "", created_at=None,
            text=text, keywords=list(doc.get("keywords") or []), score=float(doc["score"]),
            reasons=[Reason.from_document(r) for r in doc.get("reasons") or []],
            scam_risk=float(doc["scam_risk"]),
            scam_reasons=[Reason.from_document(r) for r in doc.get("scam_reasons") or []],
            scam_flag=bool(doc["scam_flag"]), links=[], cashtags=[],
            root_tweet_id=str(doc.get("root_tweet_id") or doc["tweet_id"]), dedup_keys=[],
            scam_probability=doc.get("scam_probability"),
        )

    @property
    def uncapped_score(self) -> float:
        """The sum of the reasons' points before the 0-100 cap: it orders tweets that both reach 100."""
        return round(sum(r.weight for r in self.reasons), 1)

    @property
    def is_candidate(self) -> bool:
        return bool(self.keywords)

    @property
    def is_opportunity(self) -> bool:
        """A candidate that is not flagged: only these may be sent to users."""
        return self.is_candidate and not self.scam_flag


@dataclass
class Opportunity:
    """One airdrop opportunity (or one flagged scam campaign) with every tweet that announced it.

    `opportunity_id` is derived from the shared link or original tweet, so the same opportunity
    seen again (another day, another retweet) gets the same id.
    """

    opportunity_id: str
    primary: Assessment  # the highest-scoring source
    sources: list[Assessment] = field(default_factory=list)
    scam_reasons: list[Reason] = field(default_factory=list)  # every source's, each once

    @property
    def scam_flag(self) -> bool:
        return any(s.scam_flag for s in self.sources)

    @property
    def score(self) -> float:
        return self.primary.score

    @property
    def uncapped_score(self) -> float:
        return self.primary.uncapped_score

    @property
    def rank_key(self) -> tuple[float, float]:
        """Best first: the score, then the points beyond the cap (so results at 100 are not tied)."""
        return (-self.score, -self.uncapped_score)

    @property
    def source_tweet_ids(self) -> list[str]:
        return sorted({s.tweet_id for s in self.sources}, key=lambda i: (len(i), i))

    @property
    def scam_risk(self) -> float:
        return max(s.scam_risk for s in self.sources)

    def to_document(self, partition_date: str) -> dict[str, Any]:
        """The MongoDB document (`_id` = "<partition_date>:<opportunity_id>")."""
        primary = self.primary
        return {
            "_id": f"{partition_date}:{self.opportunity_id}",
            "opportunity_id": self.opportunity_id,
            "partition_date": partition_date,
            "status": "scam_risk" if self.scam_flag else "opportunity",
            "score": self.score,
            "uncapped_score": self.uncapped_score,
            "reasons": [r.to_document() for r in primary.reasons],
            "scam_flag": self.scam_flag,
            "scam_risk": self.scam_risk,
            "scam_probability": max((s.scam_probability for s in self.sources if s.scam_probability is not None),
                                    default=None),
            "scam_reasons": [r.to_document() for r in self.scam_reasons],
            "primary_tweet_id": primary.tweet_id,
            "author_handle": primary.author_handle,
            "text": primary.text,
            "keywords": sorted({k for s in self.sources for k in s.keywords}),
            "links": sorted({k for s in self.sources for k in s.links}),
            "cashtags": sorted({c for s in self.sources for c in s.cashtags}),
            "source_tweet_ids": self.source_tweet_ids,
            "source_decisions": [s.decision_document() for s in self.sources],
            "first_seen_at": min((s.created_at for s in self.sources if s.created_at), default=None),
        }


@dataclass(frozen=True)
class Evidence:
    """A tweet prepared once for every rule: its text with the original's, normalized, and its links."""

    own_text: str  # normalized (see `text.normalize`)
    original_text: str  # normalized text of the retweeted/quoted original, "" if none
    raw: str  # own + original as posted (look-alike letters intact)
    folded: str  # own + original, NFKC-folded with case kept (cashtags, addresses)
    links: tuple[Any, ...]  # `links.Link` of the tweet and the original
    own_link_keys: frozenset[str]  # keys of the links the tweet itself carries
    author_handle: str
    author_name: str
    original_author_handle: str
    original_author_name: str

    @property
    def text(self) -> str:
        """Own and original text together, normalized."""
        return f"{self.own_text}\n{self.original_text}" if self.original_text else self.own_text

    def where(self, pattern: Any) -> str:
        """"" when `pattern` matches the tweet's own text, else " (in the quoted original)"."""
        return "" if pattern.search(self.own_text) else " (in the quoted original)"
