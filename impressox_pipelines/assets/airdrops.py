"""Airdrop assets: `airdrop_opportunities`, the day's airdrop opportunities and scam-risk posts from `raw_tweets`."""

import time
from collections import Counter
from typing import Any

import dagster as dg
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel, ReplaceOne
from pymongo.errors import DuplicateKeyError

from impressox_pipelines.airdrops.dedup import group
from impressox_pipelines.airdrops.detector import AirdropDetector
from impressox_pipelines.airdrops.keywords import shared_keyword_file
from impressox_pipelines.airdrops.listfile import ListFileError
from impressox_pipelines.airdrops.models import Assessment, Opportunity
from impressox_pipelines.airdrops.report import markdown_table, notification_payload, title
from impressox_pipelines.airdrops.scam import FLAG_THRESHOLD
from impressox_pipelines.airdrops.scam_model import ScamModelError, configured_model
from impressox_pipelines.airdrops.targets import shared_targets_file
from impressox_pipelines.events.outbox import enqueue_notification
from impressox_pipelines.partitions import daily_partitions
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.stores import AIRDROP_NOTICES_COLLECTION, OPPORTUNITIES_COLLECTION, TWEETS_COLLECTION
from impressox_pipelines.x.models import Tweet

# One document per opportunity id ever enqueued, so re-runs and later days never notify twice.
NOTIFICATION_KIND = "airdrop_opportunity"
AUDIENCE = "airdrops"


class AirdropOpportunitiesConfig(dg.Config):
    include_promoted: bool = Field(default=False, description="Score promoted tweets (ads) too.")
    keywords_file: str = Field(default="", description="Keywords file (one term per line); empty: the "
                                                       "file shipped in impressox_pipelines/airdrops.")
    target_accounts_file: str = Field(default="", description="Official X handles, one per line; empty: the "
                                                              "file shipped in impressox_pipelines/airdrops.")
    notify_min_score: float = Field(default=60.0, description="New opportunities scoring at least this (0-100) "
                                                              "are sent to users subscribed to airdrops.")
    scam_flag_threshold: float = Field(default=FLAG_THRESHOLD, description="Scam risk at which a tweet is "
                                                                           "flagged and never sent.")
    scam_model_file: str = Field(default="", description="Scam text model (JSON, from `impressox airdrops "
                                                         "train-model`); empty: the shipped model; 'none': "
                                                         "the rules alone.")
    table_rows: int = Field(default=10, description="Opportunities shown in the metadata table.")


def notification_key(opportunity_id: str) -> str:
    return f"{NOTIFICATION_KIND}:{opportunity_id}"


def _load_tweets(collection: Any, day: str) -> tuple[dict[str, Tweet], Counter]:
    """The partition's tweets by id, and the documents that could not be read, by reason."""
    tweets: dict[str, Tweet] = {}
    unreadable: Counter = Counter()
    for doc in collection.find({"partition_date": day}):
        try:
            tweet = Tweet.from_document(doc)
            if not isinstance(tweet.id, str) or not tweet.id:
                raise ValueError("no tweet id")
        except (TypeError, ValueError, KeyError) as exc:
            unreadable[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
            continue
        tweets[tweet.id] = tweet
    return tweets, unreadable


def _load_originals(collection: Any, tweets: dict[str, Tweet]) -> dict[str, Tweet]:
    """Originals that the partition's retweets and quotes point at, from any day."""
    wanted = {t.retweeted_id or t.quoted_id for t in tweets.values()} - {None} - set(tweets)
    originals = dict(tweets)
    if wanted:
        for doc in collection.find({"_id": {"$in": sorted(wanted)}}):
            try:
                originals[str(doc["_id"])] = Tweet.from_document(doc)
            except (TypeError, ValueError, KeyError):
                continue  # counted when its own partition is read
    return originals


def _store(collection: Any, day: str, opportunities: list[Opportunity], provenance: dict[str, Any], *,
           remove_stale: bool) -> int:
    """Replace the partition's opportunities (upsert each, with the `provenance` of the decision, then, if
    `remove_stale`, drop the ones no longer found); returns how many were dropped."""
    docs = [{**o.to_document(day), "title": title(o), "provenance": provenance} for o in opportunities]
    if docs:
        collection.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=False)
    if not remove_stale:
        return 0
    removed = collection.delete_many({"partition_date": day, "_id": {"$nin": [d["_id"] for d in docs]}})
    return removed.deleted_count


def _notify(redis_client: Any, notices: Any, day: str, opportunities: list[Opportunity],
            min_score: float) -> Counter:
    """Enqueue each new clean opportunity scoring at least `min_score`; returns counts by outcome.

    Enqueue first, then record the notice: a crash in between re-enqueues on the next run with the same
    idempotency key, which delivery drops, instead of losing the message.
    """
    counts: Counter = Counter()
    for opp in opportunities:
        if opp.scam_flag:
            continue
        if opp.score < min_score:
            counts["below_notify_score"] += 1
            continue
        if notices.find_one({"_id": opp.opportunity_id}, {"_id": 1}):
            counts["already_notified"] += 1
            continue
        entry_id = enqueue_notification(redis_client, kind=NOTIFICATION_KIND, audience=AUDIENCE,
                                        idempotency_key=notification_key(opp.opportunity_id),
                                        payload=notification_payload(opp))
        try:
            notices.insert_one({"_id": opp.opportunity_id, "partition_date": day, "score": opp.score,
                                "stream_entry_id": entry_id})
        except DuplicateKeyError:
            pass  # a concurrent run enqueued it too; delivery keeps one by idempotency key
        counts["notified"] += 1
    return counts


@dg.asset(
    group_name="social",
    partitions_def=daily_partitions,
    deps=["raw_tweets"],
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=7),
    kinds={"python", "mongodb", "redis"},
)
def airdrop_opportunities(
    context: dg.AssetExecutionContext,
    config: AirdropOpportunitiesConfig,
    mongo: MongoResource,
    redis: RedisResource,
) -> dg.MaterializeResult:
    """Each day's airdrop opportunities found in `raw_tweets`, each with its 0-100 score and every reason,
    its scam-risk flag and reasons, and all the tweets (retweets, quotes, reposts of one link) that announced
    it; written to MongoDB `airdrop_opportunities` (replaced per partition). New opportunities scoring at
    least `notify_min_score` that are not flagged are enqueued once to users subscribed to airdrops.
    A backfill runs up to 7 days per run, as `raw_tweets` does.
    """
    started = time.monotonic()
    try:
        keywords = shared_keyword_file(config.keywords_file or None)
        targets = shared_targets_file(config.target_accounts_file or None)
        model = configured_model(config.scam_model_file)
    except (ListFileError, ScamModelError) as exc:
        raise dg.Failure(description=f"airdrop configuration unusable: {exc}") from None
    detector = AirdropDetector(keywords, targets, flag_threshold=config.scam_flag_threshold, scam_model=model,
                               include_promoted=config.include_promoted)
    file_notes = [f"{keywords.path.name} {i}" for i in detector.keywords.issues]
    file_notes += [f"{targets.path.name} {i}" for i in detector.targets.issues]
    file_notes += [f.read_error for f in (keywords, targets) if f.read_error]
    for note in file_notes:
        context.log.warning(note)

    tweets_coll = mongo.collection(TWEETS_COLLECTION, [IndexModel([("partition_date", ASCENDING)])])
    opp_coll = mongo.collection(OPPORTUNITIES_COLLECTION, [
        IndexModel([("partition_date", ASCENDING), ("score", DESCENDING)]),
        IndexModel([("opportunity_id", ASCENDING)]),
        IndexModel([("source_tweet_ids", ASCENDING)]),
    ])
    notices_coll = mongo.collection(AIRDROP_NOTICES_COLLECTION)
    totals: Counter = Counter()
    unreadable: Counter = Counter()
    skipped: Counter = Counter()
    scam_signals: Counter = Counter()
    clean: list[Opportunity] = []
    # A backfill run covers several days (like `raw_tweets`); each day is read, written and notified alone.
    for day in sorted(context.partition_keys):
        # What produces the day's decisions (files are re-read when they change), stored with each of them.
        provenance = {**detector.provenance(), "notify_min_score": config.notify_min_score}
        tweets, bad = _load_tweets(tweets_coll, day)
        unreadable.update(bad)
        originals = _load_originals(tweets_coll, tweets)
        assessments: list[Assessment] = []
        failed = 0
        for tweet in tweets.values():
            original = originals.get(tweet.retweeted_id or tweet.quoted_id or "")
            try:
                assessment = detector.assess(tweet, original)
            except (TypeError, ValueError, AttributeError) as exc:  # a field of an unexpected type
                unreadable[f"assessment failed: {type(exc).__name__}: {str(exc)[:80]}"] += 1
                failed += 1
                continue
            assessments.append(assessment)
            if assessment.skipped:
                skipped[assessment.skipped] += 1
        opportunities = group(assessments)
        day_clean = [o for o in opportunities if not o.scam_flag]
        flagged = [o for o in opportunities if o.scam_flag]
        # An opportunity missing because its tweet could not be assessed is not gone: keep stored ones.
        totals["stale_documents_removed"] += _store(opp_coll, day, opportunities, provenance,
                                                    remove_stale=not failed)
        if failed:
            totals["days_kept_stale_documents"] += 1
            context.log.warning(f"{day}: {failed} tweets could not be assessed; stored opportunities kept")
        totals.update(_notify(redis.get_client(), notices_coll, day, day_clean, config.notify_min_score))
        totals["tweets_read"] += len(tweets)
        totals["candidates"] += sum(1 for a in assessments if a.is_candidate)
        totals["scam_flagged_opportunities"] += len(flagged)
        totals["scam_flagged_tweets"] += sum(len(o.sources) for o in flagged)
        scam_signals.update(r.signal for o in flagged for r in o.scam_reasons if r.weight > 0)
        clean += day_clean
        context.log.info(f"{day}: {len(tweets)} tweets, {len(day_clean)} opportunities, {len(flagged)} flagged")
    clean.sort(key=lambda o: o.rank_key)
    return dg.MaterializeResult(metadata={
        "tweets_read": totals["tweets_read"],
        "unreadable_documents": sum(unreadable.values()),
        "unreadable_reasons": dg.MetadataValue.json(dict(unreadable)),
        "candidates": totals["candidates"],
        "skipped": dg.MetadataValue.json(dict(skipped)),
        "opportunities": len(clean),
        "scam_flagged_opportunities": totals["scam_flagged_opportunities"],
        "scam_flagged_tweets": totals["scam_flagged_tweets"],
        "scam_signals": dg.MetadataValue.json(dict(scam_signals.most_common())),
        "notified": totals["notified"],
        "already_notified": totals["already_notified"],
        "below_notify_score": totals["below_notify_score"],
        "stale_documents_removed": totals["stale_documents_removed"],
        "days_kept_stale_documents": totals["days_kept_stale_documents"],
        "keyword_terms": len(detector.keywords.terms),
        "keywords_file": str(keywords.path),
        "config_file_issues": dg.MetadataValue.json(file_notes),
        "target_accounts": len(detector.targets.handles),
        "scam_model": _model_summary(detector),
        "latency_s": round(time.monotonic() - started, 3),
        "top_opportunities": dg.MetadataValue.md(markdown_table(clean, config.table_rows)),
    })


def _model_summary(detector: AirdropDetector) -> str:
    """"trained on sample.jsonl (sha256 3f2a…, 3011 posts), flags at 0.35", or "none (rules only)"."""
    model = detector.scam_model
    if model is None:
        return "none (rules only)"
    trained = model.metadata.get("trained_on") or {}
    return (f"trained on {trained.get('file', '?')} (sha256 {str(trained.get('sha256', '?'))[:12]}…, "
            f"{trained.get('posts', '?')} posts), flags at {model.threshold:g}")
