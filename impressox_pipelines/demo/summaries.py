"""The demo's summary: one block of lines per field, read from the stores the run wrote.

Every id a block prints can be looked up by the command printed under it (a line starting with "→"),
which selects the demo's stores with `IMPRESSOX_DATA_DIR` (see `follow`).
"""

import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from impressox_pipelines.airdrops.report import score_text
from impressox_pipelines.market.cache import read_latest
from impressox_pipelines.market.index import RuleIndex
from impressox_pipelines.settings import data_dir
from impressox_pipelines.stores import (
    APPLIED_EVENTS_COLLECTION,
    DEAD_LETTER_STREAM,
    DELIVERIES_COLLECTION,
    DOCUMENT_VECTORS_COLLECTION,
    OPPORTUNITIES_COLLECTION,
    PREFERENCES_COLLECTION,
    PRICE_ALERTS_COLLECTION,
    PRICE_CANDLES_COLLECTION,
    TWEET_VECTORS_COLLECTION,
    TWEETS_COLLECTION,
)

RAG_QUESTION = "How do I recognise an airdrop scam?"


def shown_path(path: Path) -> str:
    """`path` relative to the current folder when it is inside it (what a person types), else absolute."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def follow(*args: str) -> str:
    """The command that shows `args` on the stores this process uses, to copy and paste from this folder:
    `→ IMPRESSOX_DATA_DIR=.impressox/demo/generated .venv/bin/impressox rules list`."""
    exe = Path(sys.executable).parent / "impressox"
    exe_shown = shown_path(exe) if exe.exists() and exe.is_relative_to(Path.cwd()) else "impressox"
    return f"→ IMPRESSOX_DATA_DIR={shlex.quote(shown_path(data_dir()))} {shlex.join([exe_shown, *args])}"


def _today(partition_date: str | None) -> str:
    return partition_date or datetime.now(UTC).strftime("%Y-%m-%d")


def market_summary(defs: dg.Definitions) -> list[str]:
    """Symbols with a latest price, the price rules by id (with the command that lists them), alerts fired."""
    resources = defs.resources
    client = resources["redis"].get_client()
    latest = read_latest(client)
    index = RuleIndex(client)
    rule_ids = index.rule_ids()
    evaluated = index.stats().get("rules_evaluated", 0)
    db = resources["mongo"].get_database()
    alerts = db[PRICE_ALERTS_COLLECTION]
    fired = sorted({d["rule_id"] for d in alerts.find({}, {"rule_id": 1})})
    candles = db[PRICE_CANDLES_COLLECTION].count_documents({})
    return [f"price candles stored: {candles}" + ("" if candles else " (none: the sources had no candles for the "
                                                   "day asked; the warnings below say why)"),
            f"price snapshots: {len(latest)} symbols; price rules: {len(rule_ids)} ({', '.join(rule_ids)}), "
            f"evaluated {evaluated} times; alerts fired: {alerts.count_documents({})}"
            + (f" (by {', '.join(fired)})" if fired else ""),
            follow("rules", "list")]


def tweets_summary(defs: dg.Definitions, partition_date: str | None = None) -> list[str]:
    """Tweets stored: in all, and in the day's partition (what the day's assets read)."""
    coll = defs.resources["mongo"].get_database()[TWEETS_COLLECTION]
    day = _today(partition_date)
    return [f"tweets scraped and stored: {coll.count_documents({})} ({coll.count_documents({'partition_date': day})} "
            f"in the partition of {day}, which the airdrop and embedding assets read; the others belong to "
            f"other days' partitions)"]


def airdrops_summary(defs: dg.Definitions, partition_date: str | None = None) -> list[str]:
    """The day's two separate sets — opportunities (may be sent) and scam-flagged groups (never sent) — the
    top three opportunities and the riskiest flag, each with the tweet id that `airdrops explain` takes."""
    day = _today(partition_date)
    coll = defs.resources["mongo"].get_database()[OPPORTUNITIES_COLLECTION]
    docs = list(coll.find({"partition_date": day}))

    def rank(d: dict) -> tuple[float, float]:
        score = float(d.get("score") or 0)
        return (-score, -float(d.get("uncapped_score") or score))

    clean = sorted((d for d in docs if not d.get("scam_flag")), key=rank)
    flagged = sorted((d for d in docs if d.get("scam_flag")), key=lambda d: -float(d.get("scam_risk") or 0))
    lines = [f"airdrop decisions ({day}), two separate sets of tweet groups: {len(clean)} opportunities (clean, "
             f"may be sent) and {len(flagged)} scam-flagged (never sent); scores are 0-100"]
    for n, doc in enumerate(clean[:3], start=1):
        reasons = ", ".join(r["signal"] for r in sorted(doc.get("reasons") or [], key=lambda r: -r["weight"]))
        lines.append(f"  {n}. {score_text(float(doc.get('score') or 0), doc.get('uncapped_score'))} "
                     f"{doc.get('title')} (tweet {doc.get('primary_tweet_id')}): {reasons}")
        lines.append("     " + follow("airdrops", "explain", str(doc.get("primary_tweet_id"))))
    if flagged:
        doc = flagged[0]
        # The group's riskiest tweet, whose own decision `explain` shows (older documents: the group's).
        tweet = max(doc.get("source_decisions") or [], key=lambda d: float(d.get("scam_risk") or 0), default=None) \
            or {"tweet_id": doc.get("primary_tweet_id"), **doc}
        signals = dict.fromkeys(r["signal"] for r in tweet.get("scam_reasons") or [] if r["weight"] > 0)
        probability = tweet.get("scam_probability")
        model = f", text model p={probability:.2f}" if probability is not None else ""
        threshold = (doc.get("provenance") or {}).get("scam_flag_threshold")
        flags_at = f" (flags at {threshold:g})" if threshold is not None else ""
        lines.append(f"  flagged, e.g. @{tweet.get('author_handle')} (tweet {tweet['tweet_id']}): risk "
                     f"{tweet.get('scam_risk'):g}{flags_at}{model}: " + ", ".join(signals))
        lines.append("     " + follow("airdrops", "explain", str(tweet["tweet_id"])))
    return lines


def rag_summary(defs: dg.Definitions) -> list[str]:
    """Vectors in the knowledge base and the answer to one sample question with its source."""
    from impressox_pipelines.rag.retrieval import retrieve
    from impressox_pipelines.rag.store import open_collection

    model = defs.resources["embedding_model"].get_model()
    client = defs.resources["chroma"].get_client()
    counts = []
    for name in (DOCUMENT_VECTORS_COLLECTION, TWEET_VECTORS_COLLECTION):
        collection = open_collection(client, name, model.name, model.dimension, create=False)
        counts.append(collection.count() if collection is not None else 0)
    lines = [f"chunks embedded: {sum(counts)} ({counts[0]} document chunks, {counts[1]} tweets: the day's "
             f"tweets less those skipped, with no text or promoted)"]
    # Asked of the documents: tweets in the knowledge base include the scams the detector flagged.
    hits = retrieve(RAG_QUESTION, 1, client=client, model=model, redis=defs.resources["redis"].get_client(),
                    collections=[DOCUMENT_VECTORS_COLLECTION])
    if hits:
        excerpt = " ".join(hits[0].text.split())[:160]
        lines.append(f'rag query "{RAG_QUESTION}" → {hits[0].source} (score {hits[0].score}): {excerpt}…')
        lines.append(follow("rag", "query", RAG_QUESTION, "--kind", "document", "--k", "1"))
    return lines


def delivery_summary(defs: dg.Definitions) -> list[str]:
    """Backend events applied, the chats with preferences, messages delivered and dead letters waiting."""
    db = defs.resources["mongo"].get_database()
    applied = db[APPLIED_EVENTS_COLLECTION].count_documents({"status": "applied"})
    sent = db[DELIVERIES_COLLECTION].count_documents({"status": "sent"})
    chats = sorted(str(d["_id"]) for d in db[PREFERENCES_COLLECTION].find({}, {"_id": 1}))
    client = defs.resources["redis"].get_client()
    dead = client.xlen(DEAD_LETTER_STREAM)
    lines = [f"backend events applied: {applied}; messages delivered: {sent} (to chat "
             f"{', '.join(chats) or 'none'}); dead letters (messages that could not be handled): {dead}"]
    lines += [follow("users", "show", chat) for chat in chats[:1]]
    if dead:
        lines.append(follow("notify", "dead-letters"))
    return lines
