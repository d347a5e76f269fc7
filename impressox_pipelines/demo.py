"""`make demo`: the main job end to end on embedded defaults against the local stand-ins.

Steps: start the stand-ins (generated data, or real captures with `IMPRESSOX_REPLAY_DIR`), point the
production clients at them, run `main_job` for today's partition (then any follow-up jobs each field
registers), and print one summary line per field plus where to look next.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# A demo-only Bot API token: the demo talks to the Telegram stand-in through python-telegram-bot.
DEMO_BOT_TOKEN = "123456:impressox-demo-token"


@dataclass(frozen=True)
class DemoStep:
    """One job the demo runs, in order, for today's partition when the job is partitioned."""

    job_name: str
    description: str
    partitioned: bool = True


# Fields append their jobs here, in the order the data flows.
DEMO_STEPS: list[DemoStep] = [
    DemoStep("main_job", "every asset for today's partition"),
    DemoStep("price_rules_demo_job", "seed demo price rules, tick them against the price stand-in", partitioned=False),
    DemoStep("deliver_notifications_job", "deliver the outbox to the Telegram stand-in", partitioned=False),
]

# Fields append summary callables: each gets the built Definitions and returns lines to print.
SUMMARIES: list[Callable[[object], list[str]]] = []


def _tweets_summary(defs: object) -> list[str]:  # X scraping: "tweets scraped and stored: N"
    from impressox_pipelines.assets.social import tweets_summary

    return tweets_summary(defs)


SUMMARIES.append(_tweets_summary)


def _market_summary(defs: object) -> list[str]:  # market: snapshots, rules evaluated, alerts fired
    from impressox_pipelines.assets.market import market_summary

    return market_summary(defs)


SUMMARIES.append(_market_summary)


def _airdrops_summary(defs: object) -> list[str]:  # airdrops: opportunities count, the top three with reasons
    from impressox_pipelines.assets.airdrops import airdrops_summary

    return airdrops_summary(defs)


SUMMARIES.append(_airdrops_summary)


def _delivery_summary(defs: object) -> list[str]:  # notifications: "messages delivered: N, dead-lettered: N"
    from impressox_pipelines.assets.notify import delivery_summary

    return delivery_summary(defs)


SUMMARIES.append(_delivery_summary)


def _rag_summary(defs: object) -> list[str]:  # RAG: "chunks embedded: N" and one sample retrieval with its source
    from impressox_pipelines.assets.rag import rag_summary

    return rag_summary(defs)


SUMMARIES.append(_rag_summary)


def run_demo(replay_dir: Path | None = None) -> int:
    """Run the demo; returns the process exit status (0 when every step succeeded)."""
    from dagster import DagsterInstance

    from impressox_pipelines.definitions import build_definitions
    from impressox_pipelines.standins.launcher import running_standins

    os.environ.setdefault("IMPRESSOX_TELEGRAM_BOT_TOKEN", DEMO_BOT_TOKEN)
    partition_key = datetime.now(UTC).strftime("%Y-%m-%d")
    source = f"real captures in {replay_dir}" if replay_dir else "built-in generated data"
    print(f"impressox demo: stand-ins serving {source}; partition {partition_key}")
    failures = 0
    with running_standins(replay_dir) as env:
        for key, value in sorted(env.items()):
            print(f"  {key}={value}")
        defs = build_definitions()
        instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
        for step in DEMO_STEPS:
            job = defs.resolve_job_def(step.job_name)
            started = time.monotonic()
            result = job.execute_in_process(
                instance=instance,
                partition_key=partition_key if step.partitioned else None,
                raise_on_error=False,
            )
            status = "ok" if result.success else "FAILED"
            failures += 0 if result.success else 1
            print(f"  [{status}] {step.job_name}: {step.description} ({time.monotonic() - started:.1f} s)")
        print("\nSummary")
        for summarize in SUMMARIES:
            for line in summarize(defs):
                print(f"  {line}")
    print("\nNext: `make dev`, then open http://127.0.0.1:3000/asset-groups to see the asset graph.")
    return 1 if failures else 0
