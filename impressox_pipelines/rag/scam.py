"""The airdrop detector's scam decision about each tweet, as metadata its vector carries.

The decision lives in MongoDB `airdrop_opportunities` (written by the `airdrop_opportunities` asset):
one document per opportunity *or per flagged scam campaign* (`status` "opportunity" / "scam_risk",
`scam_flag`, `scam_risk`, `scam_probability`, `scam_reasons`), listing the tweets behind it in
`source_tweet_ids`. Flagged and clean tweets never share a document, so a flagged *candidate* is a
source of a `scam_flag: true` document even though it is no opportunity. But only keyword-matched
candidates are stored: a post with no airdrop keyword ("DM me your seed phrase…", "send 0.5 ETH, get 1
back") is assessed and flagged by the detector, then kept nowhere — on real posts (janitr sample) most
flagged posts are of this kind. So the tweets no document lists are assessed here by the same detector
(`assess_tweets`, same shipped keyword, target and model files and threshold by default, ~2 ms a
tweet), and the stored decision wins where there is one.

The decision changes without the tweet's text changing (a re-assessment, a retrained model), so it is
not part of what decides a re-embed: ingestion refreshes these keys on every run (`SCAM_KEYS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from impressox_pipelines.rag.metadata import sanitize_metadata

# Metadata keys of the decision: refreshed on each run, and absent when there is no decision.
SCAM_KEYS = ("scam_flag", "scam_risk", "scam_probability", "scam_reasons")
# Retrieval leaves out records matching this unless flagged posts are asked for. Chroma's `$ne` also
# matches records without the key (documents, tweets without a decision).
NOT_FLAGGED = {"scam_flag": {"$ne": True}}
REASONS_SEPARATOR = " | "


def scam_decisions(opportunities: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The decision about each source tweet of the given `airdrop_opportunities` documents.

    Returns tweet id → `{"scam_flag": bool, "scam_risk": float, "scam_probability": float (when the
    text model was used), "scam_reasons": "signal: detail | …" (the risk-adding reasons, when any)}`,
    Chroma-ready. A tweet listed by several documents takes the flagged one, then the highest risk.

    Raises:
        ValueError: naming the document, when its risk or probability is NaN or infinite.
    """
    decisions: dict[str, dict[str, Any]] = {}
    for doc in opportunities:
        try:
            decision = _decision(bool(doc.get("scam_flag")), doc.get("scam_risk"), doc.get("scam_probability"),
                                 doc.get("scam_reasons") or [])
        except ValueError as exc:
            raise ValueError(f"airdrop_opportunities {doc.get('_id')!r}: {exc}") from None
        for tweet_id in doc.get("source_tweet_ids") or []:
            previous = decisions.get(str(tweet_id))
            if previous is None or (decision["scam_flag"], decision["scam_risk"]) > (
                previous["scam_flag"], previous["scam_risk"]
            ):
                decisions[str(tweet_id)] = decision
    return decisions


def _decision(flag: bool, risk: Any, probability: Any, reasons: Iterable[Any]) -> dict[str, Any]:
    """The Chroma-ready decision; `reasons` are `Reason`s or their stored documents."""
    texts = []
    for reason in reasons:
        doc = reason.to_document() if hasattr(reason, "to_document") else reason
        if isinstance(doc, Mapping) and float(doc.get("weight") or 0) > 0:
            texts.append(f"{doc.get('signal')}: {doc.get('detail')}")
    return sanitize_metadata({
        "scam_flag": flag,
        "scam_risk": float(risk or 0.0),
        "scam_probability": None if probability is None else float(probability),
        "scam_reasons": REASONS_SEPARATOR.join(texts) or None,
    })


def make_detector(scam_model_file: str = "", scam_flag_threshold: float | None = None) -> Any:
    """The airdrop detector as `airdrop_opportunities` builds it by default: the shipped keyword and
    target-account files, the scam model `scam_model_file` names ("" the shipped one, "none" rules only).

    Raises:
        ScamModelError: when the model file cannot be used.
    """
    from impressox_pipelines.airdrops.detector import AirdropDetector
    from impressox_pipelines.airdrops.keywords import shared_keyword_file
    from impressox_pipelines.airdrops.scam import FLAG_THRESHOLD
    from impressox_pipelines.airdrops.scam_model import configured_model
    from impressox_pipelines.airdrops.targets import shared_targets_file

    threshold = FLAG_THRESHOLD if scam_flag_threshold is None else scam_flag_threshold
    return AirdropDetector(shared_keyword_file(), shared_targets_file(), flag_threshold=threshold,
                           scam_model=configured_model(scam_model_file))


def assess_tweets(
    documents: Sequence[Mapping[str, Any]], ids: Iterable[str], detector: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The detector's decision about each tweet of `ids`, found among `documents`.

    `documents` are MongoDB `tweets` documents; a retweet or quote is read with its original when the
    original is among them. Returns `(decisions by tweet id, why by tweet id for those the detector
    could not read)` — a field of an unexpected type, as `airdrop_opportunities` reports them.
    """
    from impressox_pipelines.x.models import Tweet

    tweets, failed = {}, {}
    for doc in documents:
        tweet_id = str(doc.get("_id") or doc.get("id") or "")
        try:
            tweets[tweet_id] = Tweet.from_document(dict(doc))
        except (TypeError, ValueError, KeyError) as exc:
            failed[tweet_id] = f"{type(exc).__name__}: {str(exc)[:80]}"
    decisions = {}
    for tweet_id in ids:
        tweet = tweets.get(tweet_id)
        if tweet is None:
            continue
        try:
            assessment = detector.assess(tweet, tweets.get(tweet.retweeted_id or tweet.quoted_id or ""))
            decisions[tweet_id] = _decision(assessment.scam_flag, assessment.scam_risk,
                                            assessment.scam_probability, assessment.scam_reasons)
        except (TypeError, ValueError, AttributeError) as exc:
            failed[tweet_id] = f"{type(exc).__name__}: {str(exc)[:80]}"
    return decisions, failed


@dataclass(frozen=True)
class Decisions:
    """The current decision about each tweet: `by_id` (Chroma-ready, see `scam_decisions`),
    `assessed_here` (how many the detector made in this run), `unassessed` (id → why not)."""

    by_id: dict[str, dict[str, Any]]
    assessed_here: int = 0
    unassessed: dict[str, str] = field(default_factory=dict)


def current_decisions(
    opportunities: Any, documents: Sequence[Mapping[str, Any]], ids: Sequence[str], detector: Any
) -> Decisions:
    """The decision about each tweet of `ids`: the one stored in `opportunities` (the MongoDB
    `airdrop_opportunities` collection) when a document lists it, else the detector's.

    Raises:
        ValueError: naming the document, when a stored risk or probability is NaN or infinite.
    """
    wanted = set(ids)
    listing = scam_decisions(opportunities.find({"source_tweet_ids": {"$in": list(ids)}}))
    stored = {tweet_id: decision for tweet_id, decision in listing.items() if tweet_id in wanted}
    assessed, failed = assess_tweets(documents, [i for i in ids if i not in stored], detector)
    return Decisions({**stored, **assessed}, len(assessed), failed)


def flag_reasons(metadata: Mapping[str, Any]) -> list[str]:
    """The reasons a stored record was flagged (empty when it is not flagged)."""
    if metadata.get("scam_flag") is not True:
        return []
    reasons = str(metadata.get("scam_reasons") or "")
    return [reason for reason in reasons.split(REASONS_SEPARATOR) if reason] or ["flagged by the airdrop detector"]
