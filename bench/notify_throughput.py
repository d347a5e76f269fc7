"""Benchmark: 2,000 messages to 200 chats through the Telegram stand-in enforcing Telegram's limits.

The stand-in runs in its own process (so it does not share the client's interpreter lock) and answers
429 whenever a limit is exceeded: 30 messages/s overall, 1/s per private chat. The delivery path is the
production one: outbox stream → consumer group → python-telegram-bot over HTTP, with the MongoDB delivery
log, on the embedded Redis and MongoDB.

With 200 private chats the overall limit binds (200 chats x 1/s > 30/s), so the allowed rate is 30/s:
about 67 s for 2,000 messages. Prints one JSON line: delivered, lost, duplicated, 429s received, and the
achieved rate as a fraction of the allowed rate.
Targets: 0 lost, 0 duplicated, at most 1% of requests answered 429, at least 90% of the allowed rate.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

MESSAGES = 2000
CHATS = 200
OVERALL_PER_S = 30.0
PER_CHAT_PER_S = 1.0
TOKEN = "123456:bench-token"


def _serve(queue: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    from impressox_pipelines.standins.server import StandInServer
    from impressox_pipelines.standins.telegram import create_app

    with StandInServer(create_app(None)) as server:
        queue.put(server.url)
        stop.wait()


def main() -> int:
    import httpx

    from impressox_pipelines.events.outbox import enqueue_notification
    from impressox_pipelines.notify.delivery import Deliverer
    from impressox_pipelines.resources.mongo import MongoResource
    from impressox_pipelines.resources.redis import RedisResource
    from impressox_pipelines.resources.telegram import TelegramResource
    from impressox_pipelines.stores import DEAD_LETTER_STREAM

    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve, args=(queue, stop), daemon=True)
    server.start()
    url = queue.get(timeout=60)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            redis_resource = RedisResource(data_dir=tmp)
            mongo = MongoResource(data_dir=tmp)
            client = redis_resource.get_client()
            keys = [f"bench:{i}" for i in range(MESSAGES)]
            for i, key in enumerate(keys):
                enqueue_notification(client, kind="text", idempotency_key=key, payload={"text": key},
                                     chat_id=1000 + i % CHATS)
            telegram = TelegramResource(bot_token=TOKEN, base_url=f"{url}/bot", data_dir=tmp,
                                        max_messages_per_second=OVERALL_PER_S,
                                        max_messages_per_second_per_chat=PER_CHAT_PER_S)
            channel = telegram.channel()
            deliverer = Deliverer(redis_client=client, db=mongo.get_database(), channel=channel,
                                  consumer="bench", limits=telegram.rate_limits())

            async def run():
                try:
                    return await deliverer.run()
                finally:
                    await channel.close()

            started = time.monotonic()
            report = asyncio.run(run())
            elapsed = time.monotonic() - started
            dead = client.xlen(DEAD_LETTER_STREAM)
            received = httpx.get(f"{url}/_standin/received", timeout=60).json()["messages"]
            stats = httpx.get(f"{url}/_standin/stats", timeout=60).json()
            redis_resource.close()
            mongo.close()
    finally:
        stop.set()
        server.join(30)

    counts = Counter(m["text"] for m in received)
    delivered = sum(1 for k in keys if counts[k] >= 1)
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    arrivals = sorted(m["received_at"] for m in received)
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else float("inf")
    # The leaky bucket allows a first burst of 30, then 30/s: the fastest legal span for N messages.
    allowed_rate = min(OVERALL_PER_S, CHATS * PER_CHAT_PER_S)
    achieved_rate = (len(arrivals) - allowed_rate) / span if span else 0.0
    requests = int(stats.get("requests", 0))
    too_many = int(stats.get("rate_limited", 0))
    result = {
        "benchmark": "notify_throughput",
        "messages": MESSAGES,
        "chats": CHATS,
        "delivered": delivered,
        "lost": MESSAGES - delivered,
        "duplicated": duplicated,
        "dead_lettered": dead,
        "requests": requests,
        "http_429": too_many,
        "http_429_ratio": round(too_many / requests, 4) if requests else None,
        "achieved_rate_per_s": round(achieved_rate, 2),
        "allowed_rate_per_s": allowed_rate,
        "rate_ratio": round(achieved_rate / allowed_rate, 3),
        "elapsed_s": round(elapsed, 1),
        "client_retries": report.retries,
        "target": {"lost": 0, "duplicated": 0, "http_429_ratio_max": 0.01, "rate_ratio_min": 0.9},
    }
    result["meets_target"] = (
        result["lost"] == 0 and duplicated == 0 and (result["http_429_ratio"] or 0) <= 0.01
        and result["rate_ratio"] >= 0.9
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
