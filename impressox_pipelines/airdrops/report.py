"""Text for people: opportunity titles, the asset's markdown table, `explain` output, notification payloads."""

from __future__ import annotations

from typing import Any

from impressox_pipelines.airdrops.models import Assessment, Opportunity, Reason


def title(opportunity: Opportunity) -> str:
    """"$ARB airdrop — @arbitrum" (the first ticker, if any, and the primary source's author)."""
    primary = opportunity.primary
    ticker = f"${primary.cashtags[0]} " if primary.cashtags else ""
    author = f" — @{primary.author_handle}" if primary.author_handle else ""
    return f"{ticker}airdrop{author}"


def score_text(score: float, uncapped: float | None = None) -> str:
    """"56/100", or "100/100 (135 points before the cap)" when the cap hid part of the sum."""
    beyond = f" ({uncapped:g} points before the cap)" if uncapped is not None and uncapped > score else ""
    return f"{score:g}/100{beyond}"


def _cell(text: str, limit: int) -> str:
    flat = " ".join(str(text).split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def markdown_table(opportunities: list[Opportunity], limit: int = 10) -> str:
    """The top `limit` opportunities as a markdown table (score, title, sources, top reasons, tweet text)."""
    if not opportunities:
        return "_no airdrop opportunities in this partition_"
    rows = ["| score (0-100) | opportunity | sources | top reasons | text |", "|---:|---|---:|---|---|"]
    for opp in opportunities[:limit]:
        top = sorted(opp.primary.reasons, key=lambda r: -r.weight)[:3]
        rows.append(
            f"| {score_text(opp.score, opp.uncapped_score)} | {_cell(title(opp), 40)} | {len(opp.sources)} | "
            f"{_cell('; '.join(r.signal for r in top), 70)} | {_cell(opp.primary.text, 80)} |"
        )
    return "\n".join(rows)


def deadline_of(reasons: list[Reason]) -> str | None:
    for reason in reasons:
        if reason.signal == "deadline":
            return reason.detail.split(": ", 1)[-1].strip("'")
    return None


def notification_payload(opportunity: Opportunity) -> dict[str, Any]:
    """The `airdrop_opportunity` payload for the notification outbox (see notify.formatting)."""
    primary = opportunity.primary
    return {
        "opportunity_id": opportunity.opportunity_id,
        "title": title(opportunity),
        "score": opportunity.score,
        "reasons": [r.to_document() for r in primary.reasons],
        "links": sorted({k for s in opportunity.sources for k in s.links}),
        "source_tweet_ids": opportunity.source_tweet_ids,
        "deadline": deadline_of(primary.reasons),
        "text": primary.text[:500],
        "author_handle": primary.author_handle,
    }


def explain_lines(assessment: Assessment, flag_threshold: float) -> list[str]:
    """Every reason behind one tweet's score and scam flag, for `impressox airdrops explain`."""
    a = assessment
    lines = [f"tweet {a.tweet_id} by @{a.author_handle or '?'}"]
    if a.root_tweet_id != a.tweet_id:
        lines.append(f"read with the original tweet {a.root_tweet_id}")
    if a.skipped and not a.keywords:
        lines.append(f"not a candidate: {a.skipped}")
    else:
        lines.append("keywords: " + ", ".join(a.keywords))
    verdict = ("FLAGGED as scam risk (never sent)" if a.scam_flag
               else "opportunity" if a.is_opportunity else "not an opportunity")
    lines.append(f"score: {score_text(a.score, a.uncapped_score)} — {verdict}")
    lines += [f"  {r}" for r in a.reasons] or ["  (no opportunity signal)"]
    lines.append(f"scam risk: {a.scam_risk:g} (flagged at {flag_threshold:g})")
    if a.scam_probability is not None:
        lines.append(f"scam text model probability: {a.scam_probability:.3f}")
    lines += [f"  {r}" for r in a.scam_reasons] or ["  (no scam pattern)"]
    return lines
