"""Scrape throughput through Chromium against the X stand-in, with and without resource blocking.

Usage: .venv/bin/python bench/scrape_throughput.py [DAYS]

The stand-in (generated data) serves the search page, its GraphQL and — for every rendered tweet — an
avatar, media images, a video and a web font, each after 30 ms like a distant CDN, all from the same
origin (so with blocking off, they compete with the GraphQL calls for Chromium's 6 connections per
host, as pbs.twimg.com traffic competes for bandwidth on x.com). For each of DAYS search days, both
modes scrape the same day (interleaved, one shared browser, a fresh context per scrape) until
pagination ends. The httpx `api` backend is timed on the same days for reference. Prints tweets/s per
mode and the blocking speed-up. Target: blocking >= 1.5x faster.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from impressox_pipelines.resources.mongo import MongoResource  # noqa: E402
from impressox_pipelines.standins.server import StandInServer  # noqa: E402
from impressox_pipelines.standins.x import DEMO_ACCOUNTS_FILE, create_app  # noqa: E402
from impressox_pipelines.x.accounts import AccountPool, load_accounts  # noqa: E402
from impressox_pipelines.x.api import ApiBackend  # noqa: E402
from impressox_pipelines.x.browser import BrowserBackend  # noqa: E402
from impressox_pipelines.x.graphql import day_query  # noqa: E402
from impressox_pipelines.x.scrape import PageRequest, scrape  # noqa: E402


def main(days: int = 6) -> dict:
    with tempfile.TemporaryDirectory() as tmp, StandInServer(create_app(window_s=1.0)) as server:
        mongo = MongoResource(data_dir=tmp)
        pool = AccountPool(mongo.get_database()["x_accounts"], load_accounts(DEMO_ACCOUNTS_FILE))
        # One Playwright per thread: both Chromium modes share the browser; blocking is set per context.
        chromium = BrowserBackend(server.url, idle_timeout_s=5)
        backends = {"blocked": chromium, "unblocked": chromium, "api": ApiBackend(server.url)}
        seconds = dict.fromkeys(backends, 0.0)
        tweets = dict.fromkeys(backends, 0)
        first = date(2026, 1, 5)
        warm = PageRequest("SearchTimeline", raw_query=day_query("airdrop", first - timedelta(days=1)))
        scrape(warm, pool, chromium, lambda page, result: None)  # browser start-up is not throughput
        for n in range(days):
            request = PageRequest("SearchTimeline", raw_query=day_query("airdrop", first + timedelta(days=n)))
            for name, backend in backends.items():
                chromium.block_resources = name == "blocked"
                started = time.perf_counter()
                outcome = scrape(request, pool, backend, lambda page, result: None)
                seconds[name] += time.perf_counter() - started
                tweets[name] += outcome.tweets
        chromium.close()
        mongo.close()
    rates = {name: tweets[name] / seconds[name] for name in backends}
    return {
        "benchmark": "scrape_throughput",
        "days": days,
        "tweets_per_mode": tweets["blocked"],
        "tweets_per_s_chromium_blocked": round(rates["blocked"], 1),
        "tweets_per_s_chromium_unblocked": round(rates["unblocked"], 1),
        "tweets_per_s_api": round(rates["api"], 1),
        "ratio": round(rates["blocked"] / rates["unblocked"], 2),
        "target": "ratio >= 1.5",
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)))
