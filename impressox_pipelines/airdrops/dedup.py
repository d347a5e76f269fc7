"""Deduplication: one opportunity per announcement, however many tweets repeat it.

Assessments that share a dedup key — the original tweet they retweet or quote (also through links to
`x.com/<user>/status/<id>`), or a link they both post — are one opportunity, transitively (a quote of
a retweet of an announcement joins the announcement). Flagged and clean tweets never merge: a scam
reply quoting a real announcement must not taint it, and a real announcement must not lend a scam
its score.
"""

from __future__ import annotations

import hashlib

from impressox_pipelines.airdrops.models import Assessment, Opportunity, Reason


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _tweet_order(key: str) -> tuple[int, str]:
    # Snowflake ids grow with time: the shortest, then smallest id is the earliest tweet.
    ident = key.split(":", 1)[1]
    return (len(ident), ident)


def opportunity_id(keys: set[str], flagged: bool) -> str:
    """A stable id from a group's keys: its first link if it has one, else its earliest tweet.

    Links come first because a repost of the same link on another day has no tweet in common with
    the first announcement. The id is a 16-hex-digit SHA-1 prefix; flagged groups get a different id.
    """
    links = sorted(k for k in keys if k.startswith("link:"))
    anchor = links[0] if links else min((k for k in keys if k.startswith("tweet:")), key=_tweet_order)
    return hashlib.sha1(f"{'scam' if flagged else 'ok'}|{anchor}".encode()).hexdigest()[:16]


def group(assessments: list[Assessment]) -> list[Opportunity]:
    """Candidates (keyword-matched assessments) grouped into opportunities, best score first.

    Non-candidates are ignored. Within a group the highest-scoring source (then the earliest tweet)
    is `primary`; the group's score and reasons are the primary's, and its scam reasons are every
    source's, each listed once.
    """
    candidates = [a for a in assessments if a.is_candidate]
    uf = _UnionFind()
    for a in candidates:
        prefix = "scam|" if a.scam_flag else "ok|"
        keys = [prefix + k for k in a.dedup_keys] or [f"{prefix}tweet:{a.tweet_id}"]
        for key in keys[1:]:
            uf.union(keys[0], key)
        uf.find(keys[0])
    members: dict[str, list[Assessment]] = {}
    keys_of: dict[str, set[str]] = {}
    for a in candidates:
        prefix = "scam|" if a.scam_flag else "ok|"
        root = uf.find(prefix + (a.dedup_keys[0] if a.dedup_keys else f"tweet:{a.tweet_id}"))
        if a.tweet_id not in {m.tweet_id for m in members.get(root, [])}:
            members.setdefault(root, []).append(a)
        keys_of.setdefault(root, set()).update(a.dedup_keys)
    opportunities = []
    for root, sources in members.items():
        sources.sort(key=lambda s: (-s.score, -s.uncapped_score, len(s.tweet_id), s.tweet_id))
        scam_reasons: dict[tuple[str, str], Reason] = {}
        for source in sources:
            for reason in source.scam_reasons:
                scam_reasons.setdefault((reason.signal, reason.detail), reason)
        flagged = root.startswith("scam|")
        opportunities.append(Opportunity(
            opportunity_id=opportunity_id(keys_of[root], flagged),
            primary=sources[0],
            sources=sources,
            scam_reasons=list(scam_reasons.values()),
        ))
    opportunities.sort(key=lambda o: (o.scam_flag, *o.rank_key, o.opportunity_id))
    return opportunities
