"""The demo's summary: one block of lines per field, read from the stores the run wrote."""

from datetime import UTC, datetime

import dagster as dg

from impressox_pipelines.events.streams import last_entry_id
from impressox_pipelines.market.cache import read_latest
from impressox_pipelines.market.index import RuleIndex
from impressox_pipelines.stores import (
    APPLIED_EVENTS_COLLECTION,
    DEAD_LETTER_STREAM,
    DELIVERIES_COLLECTION,
    DOCUMENT_VECTORS_COLLECTION,
    OPPORTUNITIES_COLLECTION,
    PRICE_ALERTS_COLLECTION,
    TWEET_VECTORS_COLLECTION,
    TWEETS_COLLECTION,
)


def market_summary(defs: dg.Definitions) -> list[str]:
    """The demo's summary line for the market field."""
    resources = defs.resources
    client = resources["redis"].get_client()
    latest = read_latest(client)
    stats = RuleIndex(client).stats()
    alerts = resources["mongo"].get_database()[PRICE_ALERTS_COLLECTION].count_documents({})
    return [f"price snapshots: {len(latest)} symbols, rules evaluated: {stats.get('rules_evaluated', 0)}, "
            f"alerts fired: {alerts}"]


def tweets_summary(defs: dg.Definitions) -> list[str]:
    """Demo summary: how many tweets MongoDB holds."""
    mongo = defs.resources["mongo"]
    count = mongo.get_database()[TWEETS_COLLECTION].count_documents({})
    return [f"tweets scraped and stored: {count}"]


def airdrops_summary(defs: dg.Definitions, partition_date: str | None = None) -> list[str]:
    """Demo summary: the partition's opportunity count, the top three with their reasons, the riskiest flag."""

    day = partition_date or datetime.now(UTC).strftime("%Y-%m-%d")
    coll = defs.resources["mongo"].get_database()[OPPORTUNITIES_COLLECTION]
    docs = list(coll.find({"partition_date": day}))
    clean = sorted((d for d in docs if not d.get("scam_flag")), key=lambda d: -float(d.get("score") or 0))
    lines = [f"airdrop opportunities ({day}): {len(clean)}, scam-flagged: {len(docs) - len(clean)}"]
    for rank, doc in enumerate(clean[:3], start=1):
        reasons = ", ".join(r["signal"] for r in sorted(doc.get("reasons") or [], key=lambda r: -r["weight"]))
        lines.append(f"  {rank}. {doc.get('score'):g} {doc.get('title')}: {reasons}")
    flagged = sorted((d for d in docs if d.get("scam_flag")), key=lambda d: -float(d.get("scam_risk") or 0))
    if flagged:
        doc = flagged[0]
        signals = dict.fromkeys(r["signal"] for r in doc.get("scam_reasons") or [] if r["weight"] > 0)
        probability = doc.get("scam_probability")
        model = f", text model p={probability:.2f}" if probability is not None else ""
        lines.append(f"  flagged, e.g. @{doc.get('author_handle')}: risk {doc.get('scam_risk'):g}{model}: "
                     + ", ".join(signals))
    return lines


def rag_summary(defs: dg.Definitions) -> list[str]:
    """Demo lines: vectors in the knowledge base and the answer to one sample question with its source."""
    from impressox_pipelines.rag.retrieval import retrieve
    from impressox_pipelines.rag.store import open_collection

    model = defs.resources["embedding_model"].get_model()
    client = defs.resources["chroma"].get_client()
    counts = []
    for name in (DOCUMENT_VECTORS_COLLECTION, TWEET_VECTORS_COLLECTION):
        collection = open_collection(client, name, model.name, model.dimension, create=False)
        counts.append(collection.count() if collection is not None else 0)
    lines = [f"chunks embedded: {sum(counts)} ({counts[0]} document chunks, {counts[1]} tweets)"]
    question = "How do I recognise an airdrop scam?"
    # Asked of the documents: tweets in the knowledge base include the scams the detector flagged.
    hits = retrieve(question, 1, client=client, model=model, redis=defs.resources["redis"].get_client(),
                    collections=[DOCUMENT_VECTORS_COLLECTION])
    if hits:
        excerpt = " ".join(hits[0].text.split())[:160]
        lines.append(f'rag query "{question}" → {hits[0].source} (score {hits[0].score}): {excerpt}…')
    return lines


def delivery_summary(defs: dg.Definitions) -> list[str]:
    """Backend events applied, messages delivered (delivery-log records sent) and dead letters waiting."""
    db = defs.resources["mongo"].get_database()
    applied = db[APPLIED_EVENTS_COLLECTION].count_documents({"status": "applied"})
    sent = db[DELIVERIES_COLLECTION].count_documents({"status": "sent"})
    client = defs.resources["redis"].get_client()
    dead = client.xlen(DEAD_LETTER_STREAM)
    newest = last_entry_id(client, DEAD_LETTER_STREAM)
    return [f"backend events applied: {applied}; messages delivered: {sent}; dead letters: {dead}"
            + (f" (newest {newest}; `impressox notify dead-letters` lists them)" if newest else "")]
