"""The airdrop detector's scam decision about each tweet, as metadata its vector carries.

The decision lives in MongoDB `airdrop_opportunities` (written by the `airdrop_opportunities` asset):
one document per opportunity *or per flagged scam campaign* (`status` "opportunity" / "scam_risk",
`scam_flag`, `scam_risk`, `scam_probability`, `scam_reasons`), listing the tweets behind it in
`source_tweet_ids`. Flagged and clean tweets never share a document, so a flagged tweet is a source of
a `scam_flag: true` document even though it is no opportunity. A tweet in no document (no airdrop
keyword) has no decision and carries no scam keys.

The decision changes without the tweet's text changing (a re-assessment, a retrained model), so it is
not part of what decides a re-embed: ingestion refreshes these keys on every run (`SCAM_KEYS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
        reasons = [
            f"{r.get('signal')}: {r.get('detail')}" for r in doc.get("scam_reasons") or []
            if isinstance(r, Mapping) and float(r.get("weight") or 0) > 0
        ]
        try:
            decision = sanitize_metadata({
                "scam_flag": bool(doc.get("scam_flag")),
                "scam_risk": float(doc.get("scam_risk") or 0.0),
                "scam_probability": None if doc.get("scam_probability") is None else float(doc["scam_probability"]),
                "scam_reasons": REASONS_SEPARATOR.join(reasons) or None,
            })
        except ValueError as exc:
            raise ValueError(f"airdrop_opportunities {doc.get('_id')!r}: {exc}") from None
        for tweet_id in doc.get("source_tweet_ids") or []:
            previous = decisions.get(str(tweet_id))
            if previous is None or (decision["scam_flag"], decision["scam_risk"]) > (
                previous["scam_flag"], previous["scam_risk"]
            ):
                decisions[str(tweet_id)] = decision
    return decisions


def flag_reasons(metadata: Mapping[str, Any]) -> list[str]:
    """The reasons a stored record was flagged (empty when it is not flagged)."""
    if metadata.get("scam_flag") is not True:
        return []
    reasons = str(metadata.get("scam_reasons") or "")
    return [reason for reason in reasons.split(REASONS_SEPARATOR) if reason] or ["flagged by the airdrop detector"]
