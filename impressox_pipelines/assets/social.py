"""Social assets: `raw_tweets`, the day's tweets of every configured and stored X target."""


import hashlib
import json
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
from pydantic import Field
from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from impressox_pipelines.partitions import daily_partitions
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.x_scraper import XScraperResource
from impressox_pipelines.stores import (
    RAW_RESPONSES_COLLECTION,
    TWEETS_COLLECTION,
    X_CURSORS_COLLECTION,
    X_TARGETS_COLLECTION,
)
from impressox_pipelines.x.models import Tweet
from impressox_pipelines.x.parser import ParseResult
from impressox_pipelines.x.scrape import BackendUnavailable, Page, PageRequest, scrape
from impressox_pipelines.x.targets import CursorStore, ScrapeTarget, load_targets

DEFAULT_TARGETS = ["@arbitrum", "@solana", "airdrop", "crypto giveaway"]
BASELINE_DAYS = 7
MIN_BASELINE = 10  # below this many tweets a day, a drop says nothing
DROP_THRESHOLD = 0.5
MAX_PARSE_FAILURE_RATE = 0.05
MAX_DUPLICATE_RATIO = 0.5


class RawTweetsConfig(dg.Config):
    targets: list[str] = Field(default=DEFAULT_TARGETS,
                               description='"@handle" for an account, anything else is a search query; '
                                           "the active targets of MongoDB `x_targets` are added.")
    max_pages: int = Field(default=30, description="Pages per target and day at most.")
    count_promoted: bool = Field(default=False, description="Count promoted tweets (ads) as pagination progress.")


def store_tweets(collection: Any, tweets: list[Tweet]) -> tuple[int, int]:
    """Upsert by tweet id (`_id`) with `partition_date` = the created_at UTC day; returns (new, updated).

    A racing writer can make an upsert raise DuplicateKeyError (a real server and litemongo alike);
    the batch is retried once, which then updates instead.
    """
    if not tweets:
        return 0, 0
    now = datetime.now(UTC)
    operations = []
    for tweet in tweets:
        doc = tweet.to_document()
        doc.pop("_id")
        doc["partition_date"] = tweet.created_at.astimezone(UTC).date().isoformat()
        operations.append(UpdateOne({"_id": tweet.id}, {"$set": doc, "$setOnInsert": {"first_seen_at": now}},
                                    upsert=True))
    for attempt in (1, 2):
        try:
            result = collection.bulk_write(operations, ordered=False)
            return result.upserted_count, result.matched_count
        except (BulkWriteError, DuplicateKeyError):
            if attempt == 2:
                raise
    return 0, 0


def _raw_document(page: Page, result: ParseResult | None, target: ScrapeTarget, day: date) -> dict:
    body = page.body or b""
    return {
        "_id": hashlib.sha256(page.url.encode() + page.fetched_at.isoformat().encode() + body[:4096]).hexdigest(),
        "operation": page.operation,
        "url": page.url,
        "status": page.status,
        "account": page.account,
        "target": target.id,
        "day": day.isoformat(),
        "fetched_at": page.fetched_at,
        "body": body.decode("utf-8", errors="replace"),
        "tweets": len(result.tweets) if result else 0,
        "failure": result.failure if result else f"HTTP {page.status}",
    }


def _days(context: dg.AssetExecutionContext) -> list[date]:
    return sorted(date.fromisoformat(key) for key in context.partition_keys)


def _baseline(collection: Any, day: date) -> float | None:
    """Mean tweets per day over the trailing days that have any (None when there are none)."""
    keys = [(day - timedelta(days=n)).isoformat() for n in range(1, BASELINE_DAYS + 1)]
    counts = Counter(doc["partition_date"] for doc in collection.find(
        {"partition_date": {"$in": keys}}, {"partition_date": 1}))
    return sum(counts.values()) / len(counts) if counts else None


@dg.asset(
    group_name="social",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=7),
    pool="x_accounts",
    kinds={"python", "mongodb"},
    check_specs=[
        dg.AssetCheckSpec("tweet_count_vs_baseline", asset="raw_tweets",
                          description=f"Each day's stored tweets vs the trailing {BASELINE_DAYS}-day mean; a drop "
                                      f"below {DROP_THRESHOLD:.0%} usually means the scraper broke."),
        dg.AssetCheckSpec("parse_failure_rate", asset="raw_tweets",
                          description=f"Tweet positions or responses that failed to parse, at most "
                                      f"{MAX_PARSE_FAILURE_RATE:.0%}."),
        dg.AssetCheckSpec("duplicate_ratio", asset="raw_tweets",
                          description=f"Tweets served again on later pages of the same scrape, at most "
                                      f"{MAX_DUPLICATE_RATIO:.0%} (more means pagination is looping)."),
        dg.AssetCheckSpec("targets_complete", asset="raw_tweets",
                          description="Every target was scraped to the end of its day (else its cursor is "
                                      "saved and the next run resumes)."),
    ],
)
def raw_tweets(
    context: dg.AssetExecutionContext,
    config: RawTweetsConfig,
    mongo: MongoResource,
    redis: RedisResource,
    x_scraper: XScraperResource,
) -> dg.MaterializeResult:
    """Tweets of each configured and stored X target for the partition's UTC day(s), via SearchTimeline
    with `since:`/`until:` bounds; upserted by tweet id into MongoDB `tweets` (with `partition_date`),
    with every raw GraphQL response kept in `x_raw_responses` so tweets can be re-parsed later.

    A backfill runs up to 7 days per run; an interrupted target resumes from its saved cursor.
    """
    started = time.monotonic()
    db = mongo.get_database()
    tweets_coll = mongo.collection(TWEETS_COLLECTION, [IndexModel([("partition_date", ASCENDING)])])
    raw_coll = mongo.collection(RAW_RESPONSES_COLLECTION, [IndexModel([("day", ASCENDING), ("target", ASCENDING)])])
    targets_coll = db[X_TARGETS_COLLECTION]
    targets, rejected = load_targets(config.targets, targets_coll)
    cursors = CursorStore(db[X_CURSORS_COLLECTION])
    pool = x_scraper.account_pool(db)
    days = _days(context)

    totals = Counter()
    reasons: Counter = Counter()
    outcomes = []
    preview: list[Tweet] = []
    with x_scraper.open_backend(cache=redis.get_client(), log=context.log.warning) as backend:
        for day in days:
            for target in targets:
                def on_page(page: Page, result: ParseResult | None, target=target, day=day) -> None:
                    raw_coll.insert_one(_raw_document(page, result, target, day))
                    if result is None:
                        return
                    new, updated = store_tweets(tweets_coll, result.tweets)
                    totals["new"] += new
                    totals["updated"] += updated
                    if result.bottom_cursor:
                        cursors.save(target, day, result.bottom_cursor, 1)
                    preview.extend(result.tweets[: max(0, 5 - len(preview))])

                request = PageRequest("SearchTimeline", raw_query=target.day_query(day),
                                      cursor=cursors.resume_cursor(target, day))
                if request.cursor:
                    context.log.info(f"{target.id} {day}: resuming from a saved cursor")
                try:
                    outcome = scrape(request, pool, backend, on_page, max_pages=config.max_pages,
                                     count_promoted=config.count_promoted, log=context.log.warning)
                except BackendUnavailable as exc:
                    raise dg.Failure(description=f"X could not be scraped: {exc}",
                                     metadata={"stored_before_failure": totals["new"] + totals["updated"]}) from None
                if outcome.complete:
                    cursors.complete(target, day)
                outcomes.append((day, target, outcome))
                reasons.update(outcome.reasons)
                totals["pages"] += outcome.pages
                totals["parsed"] += outcome.tweets + outcome.duplicates
                totals["unique"] += outcome.tweets
                totals["duplicates"] += outcome.duplicates
                totals["parse_failures"] += outcome.parse_failures
                context.log.info(f"{target.id} {day}: {outcome.tweets} tweets in {outcome.pages} pages "
                                 f"({outcome.stopped})")

    if outcomes and not any(o.pages for _, _, o in outcomes):
        raise dg.Failure(description="no page could be scraped for any target: "
                                     + json.dumps(dict(reasons), sort_keys=True),
                         metadata={"reasons": dg.MetadataValue.json(dict(reasons))})

    incomplete = [f"{t.id} {d}: {o.stopped}" for d, t, o in outcomes if not o.complete]
    day_counts = {d.isoformat(): tweets_coll.count_documents({"partition_date": d.isoformat()}) for d in days}
    checks = _checks(tweets_coll, days, day_counts, totals, incomplete)
    rows = "\n".join(f"| @{t.author_handle} | {t.created_at:%Y-%m-%d %H:%M} | "
                     f"{t.text[:80].replace('|', '/').replace(chr(10), ' ')} |" for t in preview)
    return dg.MaterializeResult(
        metadata={
            "backend": x_scraper.backend,
            "days": [d.isoformat() for d in days],
            "targets": [t.id for t in targets],
            "targets_rejected": rejected,
            "pages": totals["pages"],
            "tweets_parsed": totals["parsed"],
            "tweets_new": totals["new"],
            "tweets_updated": totals["updated"],
            "duplicates": totals["duplicates"],
            "parse_failures": totals["parse_failures"],
            "reasons": dg.MetadataValue.json(dict(sorted(reasons.items()))),
            "incomplete_targets": incomplete,
            "tweets_stored_per_day": dg.MetadataValue.json(day_counts),
            "latency_s": round(time.monotonic() - started, 2),
            "preview": dg.MetadataValue.md("| author | created (UTC) | text |\n|---|---|---|\n" + rows),
        },
        check_results=checks,
    )


def _checks(tweets_coll: Any, days: list[date], day_counts: dict[str, int], totals: Counter,
            incomplete: list[str]) -> list[dg.AssetCheckResult]:
    drops = {}
    for day in days:
        baseline = _baseline(tweets_coll, day)
        count = day_counts[day.isoformat()]
        if baseline is not None and baseline >= MIN_BASELINE and count < DROP_THRESHOLD * baseline:
            drops[day.isoformat()] = {"count": count, "baseline": round(baseline, 1)}
    parsed = totals["parsed"]
    failure_rate = totals["parse_failures"] / max(1, parsed + totals["parse_failures"])
    duplicate_ratio = totals["duplicates"] / max(1, parsed)
    warn = dg.AssetCheckSeverity.WARN
    return [
        dg.AssetCheckResult(check_name="tweet_count_vs_baseline", passed=not drops, severity=warn,
                            metadata={"drops": dg.MetadataValue.json(drops),
                                      "counts": dg.MetadataValue.json(day_counts)}),
        dg.AssetCheckResult(check_name="parse_failure_rate", passed=failure_rate <= MAX_PARSE_FAILURE_RATE,
                            severity=warn, metadata={"rate": round(failure_rate, 4),
                                                     "failures": totals["parse_failures"]}),
        dg.AssetCheckResult(check_name="duplicate_ratio", passed=duplicate_ratio <= MAX_DUPLICATE_RATIO,
                            severity=warn, metadata={"ratio": round(duplicate_ratio, 4),
                                                     "duplicates": totals["duplicates"]}),
        dg.AssetCheckResult(check_name="targets_complete", passed=not incomplete, severity=warn,
                            metadata={"incomplete": incomplete}),
    ]
