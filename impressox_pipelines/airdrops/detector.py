"""The airdrop detector: one tweet (with the original it retweets or quotes) in, one `Assessment` out.

Candidates are the tweets whose text (or original's text) contains a term of the keywords file. Every
tweet, candidate or not, gets its opportunity reasons and scam reasons, so `impressox airdrops
explain` can show why a tweet was or was not picked.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from impressox_pipelines.airdrops.keywords import KeywordFile, KeywordSet
from impressox_pipelines.airdrops.links import BRANDS, extract_links, page_kind, tweet_id_of
from impressox_pipelines.airdrops.models import Assessment, Evidence
from impressox_pipelines.airdrops.scam import FLAG_THRESHOLD, scam_reasons
from impressox_pipelines.airdrops.scam_model import ScamModel, shipped_model
from impressox_pipelines.airdrops.signals import MAX_SCORE, cashtags_of, opportunity_reasons
from impressox_pipelines.airdrops.targets import TargetAccounts, TargetAccountsFile
from impressox_pipelines.airdrops.text import fold, has_words, normalize
from impressox_pipelines.x.models import Tweet

# Stored with every decision: raise it when a rule, a weight or the scoring changes, so a stored decision
# tells which detector made it (`impressox airdrops explain --reassess` names the change).
DETECTOR_VERSION = "2026.12.1"

def _text_of(tweet: Tweet | None) -> str:
    if tweet is None or tweet.text is None:
        return ""
    return tweet.text if isinstance(tweet.text, str) else str(tweet.text)


class AirdropDetector:
    """Scores tweets as airdrop opportunities and flags scam risk.

    `keywords` and `targets` may be files (re-read when they change) or fixed sets; the defaults are
    the files shipped in this package. A tweet is flagged when its scam risk reaches `flag_threshold`.
    `scam_model` (default: the model shipped in this package; `None`: rules only) adds a
    `scam_text_model` reason worth `flag_threshold` when its probability reaches the model's threshold
    (never for a target account's own post or a retweet of one, stored or shown as "RT @handle: …"; a
    quote of one is read by its own words, without the rules the original set off). Promoted tweets
    (ads) are not scored — they get a `skipped` reason — unless `include_promoted` is set.
    Raises `ScamModelError` when the shipped model file cannot be read.
    """

    def __init__(
        self,
        keywords: KeywordSet | KeywordFile | None = None,
        targets: TargetAccounts | TargetAccountsFile | None = None,
        brands: frozenset[str] = BRANDS,
        flag_threshold: float = FLAG_THRESHOLD,
        scam_model: ScamModel | Literal["shipped"] | None = "shipped",
        include_promoted: bool = False,
    ):
        self.flag_threshold = flag_threshold
        self.include_promoted = include_promoted
        self.scam_model = shipped_model() if scam_model == "shipped" else scam_model
        self._keywords = keywords if keywords is not None else KeywordFile()
        self._targets = targets if targets is not None else TargetAccountsFile()
        self._brands = brands

    @property
    def keywords(self) -> KeywordSet:
        k = self._keywords
        return k.current() if isinstance(k, KeywordFile) else k

    @property
    def targets(self) -> TargetAccounts:
        t = self._targets
        return t.current() if isinstance(t, TargetAccountsFile) else t

    def provenance(self) -> dict[str, Any]:
        """What produces this detector's decisions, as stored beside each of them.

        Shape: `detector_version`; `scam_flag_threshold` and `include_promoted`; `keywords_file`,
        `target_accounts_file` and `scam_model_file` (paths; None for an in-memory set or no model) with
        `keywords_sha256`, `target_accounts_sha256`, `scam_model_sha256` (hex sha256 of the bytes read) and
        `scam_model_threshold` (the probability at which the model flags).
        """
        _ = self.keywords, self.targets  # (re)load the files first, so each hash is of the bytes in use
        model = self.scam_model
        return {
            "detector_version": DETECTOR_VERSION,
            "scam_flag_threshold": self.flag_threshold,
            "include_promoted": self.include_promoted,
            **_file_provenance("keywords", self._keywords),
            **_file_provenance("target_accounts", self._targets),
            "scam_model_file": model.file if model is not None else None,
            "scam_model_sha256": model.sha256 if model is not None else None,
            "scam_model_threshold": model.threshold if model is not None else None,
        }

    def brands(self, targets: TargetAccounts) -> frozenset[str]:
        """Known brands plus the letters of each target handle ("JupiterExchange" → "jupiterexchange")."""
        return self._brands | {re.sub(r"[^a-z]", "", h) for h in targets.handles if len(h) >= 5}

    def assess(self, tweet: Tweet, original: Tweet | None = None) -> Assessment:
        """Assess `tweet`, read together with `original` (the tweet it retweets or quotes, when known).

        Never raises on content: empty, emoji-only or other-script text gives an assessment with no
        keywords and a `skipped` reason.
        """
        own, orig = _text_of(tweet), _text_of(original)
        targets = self.targets
        root = tweet.retweeted_id or tweet.quoted_id or tweet.id
        base = dict(tweet_id=tweet.id, author_handle=tweet.author_handle or "",
                    created_at=tweet.created_at if isinstance(tweet.created_at, datetime) else None,
                    text=own, root_tweet_id=str(root))
        if tweet.is_promoted and not self.include_promoted:
            return Assessment(**base, keywords=[], score=0.0, reasons=[], scam_risk=0.0, scam_reasons=[],
                              scam_flag=False, links=[], cashtags=[], dedup_keys=[f"tweet:{root}"],
                              skipped="promoted tweet (an ad; include_promoted scores it)")
        if not has_words(own) and not has_words(orig):
            why = "empty text" if not (own.strip() or orig.strip()) else "no letters or digits (emoji/symbols only)"
            return Assessment(**base, keywords=[], score=0.0, reasons=[], scam_risk=0.0, scam_reasons=[],
                              scam_flag=False, links=[], cashtags=[], dedup_keys=[f"tweet:{root}"], skipped=why)
        raw = f"{own}\n{orig}" if orig else own
        folded = fold(raw)
        links = extract_links(fold(own, unmix=False), tweet.urls)
        own_keys = frozenset(lk.key for lk in links)
        if original is not None:
            links += [lk for lk in extract_links(fold(orig, unmix=False), original.urls)
                      if lk.key not in {x.key for x in links}]
        evidence = Evidence(
            own_text=normalize(own), original_text=normalize(orig), raw=raw, folded=folded, links=tuple(links),
            own_link_keys=own_keys,
            author_handle=tweet.author_handle or "", author_name=tweet.author_name or "",
            original_author_handle=original.author_handle if original else "",
            original_author_name=original.author_name if original else "",
        )
        keywords = self.keywords.find(evidence.text)
        cashtags = cashtags_of(evidence, tweet, original)
        reasons = opportunity_reasons(evidence, tweet, original, targets, cashtags)
        risks = scam_reasons(evidence, tweet, original, targets, cashtags, self.brands(targets))
        probability = None
        if self.scam_model is not None:
            # The model learned wording from strangers' posts; a target account's own words are official
            # by configuration (an impersonator is not a target account, and the rules still read every
            # post). So a retweet of a target is read as the target's post, a quote of one by its own text.
            official_original = original is not None and original.author_handle in targets
            retweets_target = bool(tweet.retweeted_id) and (
                official_original or (original is None and _retweeted_handle(own) in targets))
            official = tweet.author_handle in targets or retweets_target
            # A quote of a target: its own words alone, without the rules the official text set off.
            probability, model_reason = (self.scam_model.reason(own, [], self.flag_threshold) if official_original
                                         else self.scam_model.reason(raw, risks, self.flag_threshold))
            if model_reason and not official:
                risks.append(model_reason)
        risk = round(sum(r.weight for r in risks), 2)
        return Assessment(
            **base,
            keywords=keywords,
            score=round(min(MAX_SCORE, sum(r.weight for r in reasons)), 1),
            reasons=reasons,
            scam_risk=risk,
            scam_reasons=risks,
            scam_flag=risk >= self.flag_threshold,
            scam_probability=None if probability is None else round(probability, 3),
            links=[lk.key for lk in links],
            cashtags=cashtags,
            dedup_keys=_dedup_keys(tweet, root, links),
            skipped=None if keywords else "no keyword matched",
        )


def _file_provenance(name: str, source: object) -> dict[str, str | None]:
    """`<name>_file` and `<name>_sha256` of a reloading list file; None for a set built in memory."""
    if isinstance(source, KeywordFile | TargetAccountsFile):
        return {f"{name}_file": str(source.path), f"{name}_sha256": source.sha256}
    return {f"{name}_file": None, f"{name}_sha256": None}


_RT_PREFIX = re.compile(r"\ART @(\w{1,15}):")


def _retweeted_handle(text: str) -> str | None:
    """"arbitrum" from a retweet's "RT @arbitrum: …" text (how X shows a retweet whose original is absent)."""
    match = _RT_PREFIX.match(text)
    return match.group(1) if match else None


def _dedup_keys(tweet: Tweet, root: str, links: list) -> list[str]:
    """What makes two tweets the same opportunity: the tweet they share, or a link they both post.

    A bare homepage (`jup.ag`) is shared by unrelated posts of one project, so only links with a
    path, a query or a claim host count; links to tweets count as the tweet.
    """
    keys = {f"tweet:{tweet.id}", f"tweet:{root}"}
    for link in links:
        quoted = tweet_id_of(link)
        if quoted:
            keys.add(f"tweet:{quoted}")
        elif link.path or "?" in link.key or page_kind(link) == "claim":
            if link.host not in {"x.com", "twitter.com"}:
                keys.add(f"link:{link.key}")
    return sorted(keys)
