"""Stored airdrop decisions, read back for people: what was decided about a tweet, what produced it, and
what a reassessment changed and why (for `impressox airdrops explain`).

A decision lives in MongoDB `airdrop_opportunities`: each document holds the decision of every tweet of
its group (`source_decisions`) and the `provenance` of the run that made it (`AirdropDetector.provenance`
plus `notify_min_score`). Documents written before either existed are still explained, from the group's
own fields, with a note that says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from impressox_pipelines.airdrops.models import Assessment
from impressox_pipelines.airdrops.report import explain_lines
from impressox_pipelines.airdrops.scam import FLAG_THRESHOLD

# The provenance fields that can change a decision, with the words that name them.
_CAUSES = (
    ("detector_version", "detector version"),
    ("keywords_sha256", "keywords file"),
    ("target_accounts_sha256", "target accounts file"),
    ("scam_model_sha256", "scam text model"),
    ("scam_flag_threshold", "scam flag threshold"),
    ("scam_model_threshold", "scam text model threshold"),
    ("include_promoted", "include_promoted"),
)


@dataclass(frozen=True)
class StoredDecision:
    """One stored decision about a tweet: the opportunity document it is part of, and the tweet's own part."""

    document: dict[str, Any]
    assessment: Assessment
    notes: tuple[str, ...]  # what the stored document lacks (older versions)

    @property
    def provenance(self) -> dict[str, Any] | None:
        return self.document.get("provenance") or None

    @property
    def flag_threshold(self) -> float:
        return float((self.provenance or {}).get("scam_flag_threshold", FLAG_THRESHOLD))


def stored_decisions(collection: Any, tweet_id: str) -> list[StoredDecision]:
    """The decisions stored about `tweet_id` in the `airdrop_opportunities` collection, newest day first
    (one per day its group was assessed); empty when the tweet is in no stored opportunity."""
    docs = sorted(collection.find({"source_tweet_ids": tweet_id}), key=lambda d: str(d.get("partition_date")),
                  reverse=True)
    return [_decision_of(doc, tweet_id) for doc in docs]


def _decision_of(doc: dict[str, Any], tweet_id: str) -> StoredDecision:
    notes = []
    if not doc.get("provenance"):
        notes.append("provenance missing: this decision was stored by an older version, which did not record "
                     "the configuration, file hashes or model that produced it")
    own = next((d for d in doc.get("source_decisions") or [] if str(d.get("tweet_id")) == tweet_id), None)
    if own is not None:
        return StoredDecision(doc, Assessment.from_decision(own, doc.get("text", "")
                                                            if doc.get("primary_tweet_id") == tweet_id else ""),
                              tuple(notes))
    # An older document keeps only its group's decision, which is its primary tweet's.
    if doc.get("primary_tweet_id") != tweet_id:
        notes.append(f"this older document keeps no decision per tweet: shown is its group's, made on the "
                     f"primary tweet {doc.get('primary_tweet_id')}")
    group = {"tweet_id": tweet_id, "author_handle": doc.get("author_handle"), "keywords": doc.get("keywords"),
             "score": doc.get("score", 0), "reasons": doc.get("reasons"), "scam_risk": doc.get("scam_risk", 0),
             "scam_reasons": doc.get("scam_reasons"), "scam_flag": doc.get("scam_flag", False),
             "scam_probability": doc.get("scam_probability")}
    return StoredDecision(doc, Assessment.from_decision(group, doc.get("text", "")), tuple(notes))


def _short(sha: str | None) -> str:
    return f"sha256 {sha[:12]}…" if sha else "no hash"


def provenance_lines(provenance: dict[str, Any] | None) -> list[str]:
    """What produced a decision, one line per input; a single note when it was not recorded."""
    if not provenance:
        return ["decided by: unknown (provenance missing: stored by an older version)"]
    p = provenance
    notify = f", notify at score {p['notify_min_score']:g}" if p.get("notify_min_score") is not None else ""
    lines = [f"decided by: detector {p.get('detector_version', '?')}, scam flag at risk "
             f"{p.get('scam_flag_threshold', FLAG_THRESHOLD):g}{notify}"]
    for label, name in (("keywords", "keywords"), ("target accounts", "target_accounts")):
        path = p.get(f"{name}_file")
        lines.append(f"  {label}: {path} ({_short(p.get(f'{name}_sha256'))})" if path
                     else f"  {label}: a set given in code (no file)")
    if p.get("scam_model_file"):
        lines.append(f"  scam text model: {p['scam_model_file']} ({_short(p.get('scam_model_sha256'))}, flags at "
                     f"probability {p.get('scam_model_threshold', 0):g})")
    else:
        lines.append("  scam text model: none (rules only)")
    return lines


def decision_lines(decision: StoredDecision) -> list[str]:
    """The stored decision about one tweet, its reasons and its provenance, for `explain`."""
    doc = decision.document
    status = "the scam-flagged group" if doc.get("scam_flag") else "the airdrop opportunity"
    lines = [f"stored decision of {doc.get('partition_date')} (MongoDB `airdrop_opportunities` _id {doc.get('_id')}):"
             f" part of {status} {doc.get('opportunity_id')} \"{doc.get('title', '')}\", "
             f"{len(doc.get('source_tweet_ids') or [])} tweet(s), primary tweet {doc.get('primary_tweet_id')}"]
    lines += explain_lines(decision.assessment, decision.flag_threshold)
    lines += provenance_lines(decision.provenance)
    lines += [f"note: {note}" for note in decision.notes]
    return lines


def _answer(a: Assessment) -> dict[str, Any]:
    return {"candidate": a.is_candidate, "score": a.score, "scam risk": a.scam_risk, "scam flag": a.scam_flag,
            "scam text model probability": a.scam_probability}


def change_lines(stored: StoredDecision, today: Assessment, today_provenance: dict[str, Any]) -> list[str]:
    """What today's assessment changed against the stored decision, and why; one line when nothing did."""
    # Only candidates are grouped, so every stored decision is a candidate's.
    before, after = {**_answer(stored.assessment), "candidate": True}, _answer(today)
    changed = [f"{name}: {before[name]} → {after[name]}" for name in before if before[name] != after[name]]
    for label, old_reasons, new_reasons in (("opportunity", stored.assessment.reasons, today.reasons),
                                            ("scam", stored.assessment.scam_reasons, today.scam_reasons)):
        old = {r.signal: r.weight for r in old_reasons}
        new = {r.signal: r.weight for r in new_reasons}
        changed += [f"{label} reason added: {r}" for r in new_reasons if r.signal not in old]
        changed += [f"{label} reason gone: {r}" for r in old_reasons if r.signal not in new]
        changed += [f"{label} reason {s}: {old[s]:+g} → {new[s]:+g}" for s in old if s in new and old[s] != new[s]]
    if not changed:
        return ["same decision as stored"]
    lines = ["changed since the stored decision:"] + [f"  {c}" for c in changed]
    why = cause_lines(stored.provenance, today_provenance)
    return lines + ["why:"] + [f"  {w}" for w in why]


def cause_lines(stored: dict[str, Any] | None, today: dict[str, Any]) -> list[str]:
    """The inputs that differ between two provenances, each with its old and new value."""
    if not stored:
        return ["unknown: the stored decision has no provenance to compare with (stored by an older version)"]
    causes = []
    for key, label in _CAUSES:
        old, new = stored.get(key), today.get(key)
        if old != new:
            show = _short if key.endswith("sha256") else str
            causes.append(f"{label}: {show(old)} → {show(new)}")
    return causes or ["the configuration, files and model are the same: the tweet (or its original) as stored "
                      "now differs from what was assessed, e.g. re-scraped engagement counts"]
