"""Opportunity signals: what makes an airdrop post worth a user's attention, each with its weight.

The score is the sum of the weights of the signals that fired, capped at 100. Weights reflect how
much each signal separates a real, actionable airdrop from chatter: an official (target) account and
concrete airdrop/claim/eligibility language weigh most; a deadline, a claim or docs page and a
ticker make it actionable; engagement grows logarithmically so a viral post cannot win on
engagement alone.
"""

from __future__ import annotations

import math
import re

from impressox_pipelines.airdrops.links import Link, page_kind, tweet_id_of
from impressox_pipelines.airdrops.models import Evidence, Reason
from impressox_pipelines.airdrops.targets import TargetAccounts
from impressox_pipelines.x.models import Tweet

MAX_SCORE = 100.0

_W = r"(?<![\w$])"  # start of a word (not inside one, not a cashtag)
_E = r"(?!\w)"
# (signal, weight, pattern, what it means). Matched on `text.normalize`d text.
LANGUAGE_SIGNALS: tuple[tuple[str, float, re.Pattern[str], str], ...] = (
    ("airdrop_language", 20.0, re.compile(
        _W + r"(air[\s-]?drop\w*|retro[\s-]?drop\w*)" + _E + r"|空投|エアドロップ|에어드[랍롭]|[эа]йрдроп|аирдроп"),
     "airdrop language"),
    ("claim_language", 15.0, re.compile(_W + r"(claim(s|ed|ing|able)?|unclaimed)" + _E + r"|领取|認領"),
     "claim language"),
    ("eligibility_language", 15.0, re.compile(
        _W + r"(eligib(le|ility)|allocations?|qualif(y|ies|ied)|(eligibility\s+)?checker)" + _E),
     "eligibility/allocation language"),
    ("snapshot_language", 10.0, re.compile(_W + r"(snapshots?|snapshotted|retroactive(ly)?)" + _E),
     "snapshot language"),
    ("points_language", 10.0, re.compile(
        _W + r"(points?\s+(program(me)?|campaign|season|system|multiplier|leaderboard)s?"
        r"|(earn|farm(ing)?|accumulate|stack(ing)?|collect)\s+(\w+\s+)?points"
        r"|season\s+\d+\s+(points|rewards|airdrop)|tge|token\s+generation\s+event)" + _E),
     "points program / token generation language"),
)
AIRDROP_LANGUAGE = re.compile("|".join(f"(?:{p.pattern})" for _, _, p, _ in LANGUAGE_SIGNALS[:2]))

_MONTH = (r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?"
          r"|oct(ober)?|nov(ember)?|dec(ember)?)")
_WEEKDAY = r"(mon|tues|wednes|thurs|fri|satur|sun)day"
DEADLINE = re.compile(
    _W + _MONTH + r"\.?\s+\d{1,2}(st|nd|rd|th)?(?!\d)"
    r"|" + _W + r"\d{1,2}(st|nd|rd|th)?\s+(of\s+)?" + _MONTH + _E
    + r"|\b20\d\d[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}[/.]\d{1,2}[/.](20)?\d\d\b"
    r"|\b\d{1,2}(:\d\d)?\s*(am|pm)?\s*(utc|gmt|est|edt|pst|pdt|cet|cest|kst|sgt|hkt)\b"
    r"|\b(deadline|cut-?off|expir(es|y|ation)|ends|closes|until|before|by)\s+(on\s+|at\s+)?(" + _WEEKDAY
    + r"|tomorrow|tonight|midnight|end\s+of\s+(the\s+)?(day|week|month))\b"
    r"|\b(deadline|cut-?off\s+date|claim\s+window|claim\s+period)\b"
)
CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{1,9})(?![\w])")

W_DEADLINE = 10.0
W_CASHTAGS = 5.0
W_CLAIM_PAGE = 15.0
W_DOCS_PAGE = 10.0
W_TARGET_AUTHOR = 25.0
W_QUOTES_TARGET = 15.0
W_QUOTED_ORIGINAL = 10.0
W_ENGAGEMENT_MAX = 15.0


def cashtags_of(evidence: Evidence, tweet: Tweet, original: Tweet | None) -> list[str]:
    """Tickers (upper-case, no "$") from the parsed cashtags and the text, in order, each once."""
    found = [*(tweet.cashtags or []), *((original.cashtags or []) if original else [])]
    found += [m.group(1) for m in CASHTAG.finditer(evidence.folded)]
    seen: dict[str, None] = {}
    for tag in found:
        if isinstance(tag, str) and tag.strip("$"):
            seen.setdefault(tag.strip("$").upper(), None)
    return list(seen)


def engagement_weight(tweet: Tweet) -> float:
    """0-15 points: 3 × log10(1 + likes + replies + 2 × (retweets + quotes)), rounded to 0.1."""
    total = sum(max(0, int(v or 0)) for v in (tweet.like_count, tweet.reply_count))
    total += 2 * sum(max(0, int(v or 0)) for v in (tweet.retweet_count, tweet.quote_count))
    return round(min(W_ENGAGEMENT_MAX, 3 * math.log10(1 + total)), 1)


def opportunity_reasons(
    evidence: Evidence, tweet: Tweet, original: Tweet | None, targets: TargetAccounts, cashtags: list[str]
) -> list[Reason]:
    """Every opportunity signal that fires for the tweet read with its original, as reasons."""
    reasons: list[Reason] = []
    text = evidence.text
    for signal, weight, pattern, label in LANGUAGE_SIGNALS:
        words = sorted({m.group(0).strip() for m in pattern.finditer(text)})
        if words:
            reasons.append(Reason(signal, weight, f"{label}: {', '.join(words[:5])}{evidence.where(pattern)}"))
    deadline = DEADLINE.search(text)
    if deadline:
        reasons.append(Reason("deadline", W_DEADLINE, f"deadline or date: {deadline.group(0).strip()!r}"))
    if cashtags:
        reasons.append(Reason("cashtags", W_CASHTAGS, "tickers: " + ", ".join(f"${t}" for t in cashtags[:8])))
    kinds: dict[str, Link] = {}
    for link in evidence.links:
        kind = page_kind(link)
        if kind and kind not in kinds and not tweet_id_of(link):
            kinds[kind] = link
    if "claim" in kinds:
        reasons.append(Reason("claim_page_link", W_CLAIM_PAGE, f"links a claim/eligibility page: {kinds['claim'].key}"))
    if "docs" in kinds:
        reasons.append(Reason("docs_page_link", W_DOCS_PAGE, f"links a docs/announcement page: {kinds['docs'].key}"))
    if tweet.author_handle in targets:
        reasons.append(Reason("target_account", W_TARGET_AUTHOR, f"posted by target account @{tweet.author_handle}"))
    elif original is not None and original.author_handle in targets:
        reasons.append(Reason(
            "target_account", W_QUOTES_TARGET, f"retweets/quotes target account @{original.author_handle}"
        ))
    engagement = engagement_weight(tweet)
    if engagement > 0:
        reasons.append(Reason(
            "engagement", engagement,
            f"{tweet.like_count} likes, {tweet.retweet_count} retweets, {tweet.quote_count} quotes, "
            f"{tweet.reply_count} replies",
        ))
    if original is not None and AIRDROP_LANGUAGE.search(evidence.original_text):
        kind = "retweets" if tweet.retweeted_id == original.id else "quotes"
        reasons.append(Reason(
            "quoted_original", W_QUOTED_ORIGINAL,
            f"{kind} @{original.author_handle}'s tweet {original.id}, which talks about an airdrop/claim",
        ))
    return reasons
