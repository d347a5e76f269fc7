"""Market monitor assets: `price_snapshots`, `price_candles` and their checks."""

import time
from datetime import datetime, timedelta

import dagster as dg
from pydantic import Field

from impressox_pipelines.market.cache import read_latest, write_quotes
from impressox_pipelines.market.candles import (
    CANDLE_INDEXES,
    candle_documents,
    candle_gaps,
    fetch_candles,
    upsert_candles,
)
from impressox_pipelines.market.feed import PriceFeedError
from impressox_pipelines.market.feed_state import ExchangeInfoCache, take_polite_snapshot
from impressox_pipelines.market.index import RuleIndex
from impressox_pipelines.market.prices import MalformedResponse
from impressox_pipelines.market.snapshot import SNAPSHOT_INDEXES, Snapshot, store_snapshot
from impressox_pipelines.market.symbols import Pair, SymbolError, parse_pair
from impressox_pipelines.partitions import daily_partitions
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.price_feed import PriceFeedResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.stores import PRICE_CANDLES_COLLECTION, PRICE_SNAPSHOTS_COLLECTION

DEFAULT_WATCHLIST = ["BTC/USD", "ETH/USD", "SOL/USD"]
FRESHNESS_WINDOW_S = 300
CANDLE_CHECK = "price_candles_contiguous"


class PriceSnapshotsConfig(dg.Config):
    watchlist: list[str] = Field(default_factory=lambda: list(DEFAULT_WATCHLIST),
                                 description="Pairs always snapshotted, besides those named by active rules.")
    sources: list[str] = Field(default_factory=lambda: ["binance", "coingecko"],
                               description="Sources in the order they are asked.")
    poll_interval_s: float = Field(60.0, description="The longest Retry-After waited; longer skips the cycle.")


class PriceCandlesConfig(dg.Config):
    pairs: list[str] = Field(default_factory=list,
                             description="Pairs to fetch; empty = the default watchlist plus the pairs of rules.")
    interval: str = Field("1m", description="Binance kline interval (1m, 5m, 15m, 1h, …).")
    max_retry_after_s: float = Field(300.0, description="The longest Retry-After waited before giving up a day.")


def _pairs(names: list[str], redis: RedisResource, invalid: dict[str, str]) -> list[Pair]:
    """The configured pairs plus every pair an active rule watches (new backend rules synced first)."""
    index = RuleIndex(redis.get_client())
    index.sync_pending()
    pairs = set()
    for name in [*names, *index.watched_pairs()]:
        try:
            pairs.add(parse_pair(name))
        except SymbolError as exc:
            invalid[name] = str(exc)
    return sorted(pairs)


def _preview(snapshot: Snapshot) -> str:
    lines = ["| pair | price | source | timestamp (UTC) |", "|---|---:|---|---|"]
    for pair, quote in sorted(snapshot.quotes.items())[:25]:
        lines.append(f"| {pair} | {quote.price} | {quote.source} | {quote.timestamp:%Y-%m-%d %H:%M:%S} |")
    for pair, reason in sorted(snapshot.missing.items())[:25]:
        lines.append(f"| {pair} | missing | — | {reason[:120]} |")
    return "\n".join(lines)


def capture_snapshot(
    log, config: PriceSnapshotsConfig, price_feed: PriceFeedResource, mongo: MongoResource, redis: RedisResource
) -> tuple[Snapshot, dict]:
    """Snapshot, store in MongoDB, update the Redis cache; returns the snapshot and its metadata."""
    invalid: dict[str, str] = {}
    pairs = _pairs(config.watchlist, redis, invalid)
    with price_feed.client() as client:
        polite = take_polite_snapshot(redis.get_client(), client, pairs, price_feed.coingecko_id_map(),
                                      sources=config.sources, max_wait_s=config.poll_interval_s)
    snapshot = polite.snapshot
    collection = mongo.collection(PRICE_SNAPSHOTS_COLLECTION, SNAPSHOT_INDEXES)
    inserted, already = store_snapshot(collection, snapshot)
    advanced = write_quotes(redis.get_client(), snapshot.quotes.values())
    for name, reason in {**invalid, **snapshot.missing}.items():
        log.warning(f"{name}: no price in this snapshot: {reason}")
    for source, report in snapshot.sources.items():
        if report.skipped:
            log.warning(f"{source} skipped this cycle: {report.skipped}")
    if polite.exchange_info_note:
        log.warning(f"binance {polite.exchange_info_note}")
    metadata = {
        "pairs_requested": len(pairs),
        "pairs_priced": len(snapshot.quotes),
        "pairs_missing": len(snapshot.missing) + len(invalid),
        "missing": dg.MetadataValue.json({**invalid, **snapshot.missing}),
        "documents_inserted": inserted,
        "documents_already_stored": already,
        "cache_updated": advanced,
        "sources": dg.MetadataValue.json({
            name: {"requested": r.requested, "received": r.received, "latency_ms": round(r.latency_s * 1000),
                   "skipped": r.skipped}
            for name, r in snapshot.sources.items()
        }),
        "sources_resting": dg.MetadataValue.json({s: r.as_metadata() for s, r in polite.resting.items()}),
        "rests_recorded": dg.MetadataValue.json({s: r.as_metadata() for s, r in polite.rested.items()}),
        "exchange_info": polite.exchange_info or "not used",
        "preview": dg.MetadataValue.md(_preview(snapshot)),
    }
    return snapshot, metadata


@dg.asset(group_name="market", kinds={"python", "mongodb", "redis"})
def price_snapshots(
    context: dg.AssetExecutionContext,
    config: PriceSnapshotsConfig,
    price_feed: PriceFeedResource,
    mongo: MongoResource,
    redis: RedisResource,
) -> dg.MaterializeResult:
    """The latest spot price of every watched pair (the watchlist plus the pairs of active rules): from
    Binance's ticker first, CoinGecko for the rest. A source resting after a 429 (recorded in Redis by
    any run or the rule sensor, see `market.feed_state`) is not asked: the next source prices its pairs,
    and the metadata names the rest (`sources_resting`: until when, the Retry-After asked); a 429 this
    run does not wait out puts the source to rest (`rests_recorded`). Binance's exchange info comes from
    the hour-long cache in Redis (`exchange_info`: `redis` or `binance`). Appended to MongoDB
    `price_snapshots` (unique per pair, source and timestamp) and written to the Redis latest-price
    cache the rule sensor reads. A null, zero or unparseable price marks the pair missing for this
    snapshot; it is never stored."""
    _, metadata = capture_snapshot(context.log, config, price_feed, mongo, redis)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(asset=price_snapshots, description=f"Every watched pair priced within {FRESHNESS_WINDOW_S} s.")
def price_snapshots_fresh(redis: RedisResource) -> dg.AssetCheckResult:
    client = redis.get_client()
    watched = sorted(set(DEFAULT_WATCHLIST) | set(RuleIndex(client).watched_pairs()))
    latest = read_latest(client, watched)
    now_ms = int(time.time() * 1000)
    ages = {pair: (now_ms - latest[pair].ms) / 1000 if pair in latest else None for pair in watched}
    stale = {pair: age for pair, age in ages.items() if age is None or age > FRESHNESS_WINDOW_S}
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"watched": len(watched), "stale": len(stale),
                  "stale_pairs": dg.MetadataValue.json({p: "never priced" if a is None else round(a)
                                                        for p, a in stale.items()}),
                  "oldest_age_s": max((a for a in ages.values() if a is not None), default=0)},
    )


@dg.asset(
    group_name="market",
    kinds={"python", "mongodb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=7),
    check_specs=[dg.AssetCheckSpec(CANDLE_CHECK, asset="price_candles",
                                   description="No gaps or duplicate open times in the partition's candles.")],
)
def price_candles(
    context: dg.AssetExecutionContext,
    config: PriceCandlesConfig,
    price_feed: PriceFeedResource,
    mongo: MongoResource,
    redis: RedisResource,
) -> dg.MaterializeResult:
    """Daily OHLCV candles (1-minute by default) per pair, from Binance klines with CoinGecko's market
    chart as the fallback, upserted into MongoDB `price_candles` (unique per pair, interval and open
    time): re-running a partition changes nothing. A backfill runs up to 7 days per run, so a long range
    stays inside the APIs' request budgets; pairs default to the watchlist plus the pairs of rules."""
    invalid: dict[str, str] = {}
    if config.pairs:
        pairs = []
        for name in config.pairs:
            try:
                pairs.append(parse_pair(name))
            except SymbolError as exc:
                invalid[name] = str(exc)
    else:
        pairs = _pairs(DEFAULT_WATCHLIST, redis, invalid)
    window = context.partition_time_window
    collection = mongo.collection(PRICE_CANDLES_COLLECTION, CANDLE_INDEXES)
    ids = price_feed.coingecko_id_map()
    totals = {"inserted": 0, "changed": 0, "unchanged": 0}
    per_pair: dict[str, dict] = {}
    notes: list[str] = [f"{name}: {reason}" for name, reason in invalid.items()]
    written: dict[tuple[str, str], set[datetime]] = {}
    with price_feed.client() as client:
        try:
            markets = ExchangeInfoCache(redis.get_client()).markets(client, max_wait_s=config.max_retry_after_s)
        except (PriceFeedError, MalformedResponse) as exc:
            markets = None
            notes.append(f"binance exchangeInfo unavailable, CoinGecko only: {exc}")
        day = window.start
        while day < window.end:
            for pair in pairs:
                fetched = fetch_candles(client, pair, day, day + timedelta(days=1), interval=config.interval,
                                        markets=markets, ids=ids, max_wait_s=config.max_retry_after_s)
                inserted, changed, unchanged = upsert_candles(collection, candle_documents(fetched))
                totals["inserted"] += inserted
                totals["changed"] += changed
                totals["unchanged"] += unchanged
                entry = per_pair.setdefault(str(pair), {"candles": 0, "sources": set()})
                entry["candles"] += len(fetched.candles)
                if fetched.source:
                    entry["sources"].add(fetched.source)
                for note in fetched.notes:
                    context.log.warning(f"{pair} {day:%Y-%m-%d}: {note}")
                notes.extend(f"{pair} {day:%Y-%m-%d}: {n}" for n in fetched.notes[:3])
                written.setdefault((str(pair), fetched.interval), set())
            day += timedelta(days=1)
    check = _candle_check(collection, written, window.start, window.end)
    return dg.MaterializeResult(
        metadata={
            "days": len(context.partition_keys),
            "pairs": len(pairs),
            **{f"candles_{k}": v for k, v in totals.items()},
            "per_pair": dg.MetadataValue.json({p: {"candles": e["candles"], "sources": sorted(e["sources"])}
                                               for p, e in per_pair.items()}),
            "notes": dg.MetadataValue.json(notes[:50]),
        },
        check_results=[check],
    )


def _candle_check(collection, groups, start: datetime, end: datetime) -> dg.AssetCheckResult:
    """Gaps and duplicate open times per (pair, interval) among the stored candles of the window."""
    findings = {}
    gaps_total = duplicates_total = 0
    for pair, interval in sorted(groups):
        times = [d["open_time"] for d in collection.find(
            {"pair": pair, "interval": interval, "open_time": {"$gte": start, "$lt": end}}, {"open_time": 1})]
        gaps, duplicates, first_missing = candle_gaps(times, interval)
        gaps_total += gaps
        duplicates_total += duplicates
        findings[f"{pair} {interval}"] = {"candles": len(times), "gaps": gaps, "duplicates": duplicates,
                                          "first_missing": [t.isoformat() for t in first_missing]}
    return dg.AssetCheckResult(
        check_name=CANDLE_CHECK,
        passed=gaps_total == 0 and duplicates_total == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"gaps": gaps_total, "duplicates": duplicates_total, "by_pair": dg.MetadataValue.json(findings)},
    )
