"""Wall time of `impressox` commands against a bare `python -c pass`, in one run.

Usage: .venv/bin/python bench/cli_latency.py [ROUNDS]

Each command runs as a fresh `python -m impressox_pipelines.cli …` process of this checkout (so every run
pays the interpreter start, the imports and the opening of its stores, as a person typing it does), on
embedded stores in a temporary folder: `rules add|list|remove`, `users set|show`, `notify send`, `x parse`
on a real capture (`../shared/fixtures/twscrape/raw_search.json`; skipped when absent) and `rag query` on
an empty knowledge base. The commands are interleaved round by round with `python -c pass`, and the
median of the rounds is kept, for the wall time and for the process's own CPU time (user + system, which
other work on the machine hardly changes). The 1-minute load average before and after says how busy the machine was.
Targets (seconds, wall, median): `--help` <= 0.5, the store commands and `x parse` <= 1.0, `rag query`
<= 3.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CAPTURE = REPO.parent / "shared" / "fixtures" / "twscrape" / "raw_search.json"
PRODUCTION_VARIABLES = ("IMPRESSOX_ENV", "IMPRESSOX_MONGODB_URI", "IMPRESSOX_REDIS_URL", "IMPRESSOX_CHROMA_URL",
                        "IMPRESSOX_TELEGRAM_BOT_TOKEN")

# (name, arguments, target in seconds); run in this order each round, so `rules remove` finds the rule
# `rules add` stored and `users show` the chat `users set` created.
COMMANDS: list[tuple[str, list[str], float]] = [
    ("help", ["--help"], 0.5),
    ("rules_add", ["rules", "add", "bench1", "--owner", "1001", "--symbol", "BTC", "--above", "100000"], 1.0),
    ("rules_list", ["rules", "list"], 1.0),
    ("rules_remove", ["rules", "remove", "bench1"], 1.0),
    ("users_set", ["users", "set", "1001", "--subscribe", "price_alerts"], 1.0),
    ("users_show", ["users", "show", "1001"], 1.0),
    ("notify_send", ["notify", "send", "1001", "hello from the benchmark"], 1.0),
    ("x_parse", ["x", "parse", str(CAPTURE)], 1.0),
    ("rag_query_empty", ["rag", "query", "What is an airdrop?"], 3.0),
]


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `argv`; its own CPU time hardly depends on other load."""
    cpu, started = _children_cpu_s(), time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{' '.join(argv[3:])}: exit {proc.returncode}: {tail}")
    return elapsed, _children_cpu_s() - cpu


def main(rounds: int = 5) -> dict:
    commands = [c for c in COMMANDS if c[0] != "x_parse" or CAPTURE.exists()]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cli-latency-") as data_dir:
        env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_VARIABLES}
        env.update(IMPRESSOX_DATA_DIR=data_dir, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        cli = [sys.executable, "-m", "impressox_pipelines.cli"]
        names = ["python_pass", *(name for name, _, _ in commands)]
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        for _ in range(rounds):
            samples["python_pass"].append(_timed([sys.executable, "-c", "pass"], env))
            for name, args, _ in commands:
                samples[name].append(_timed([*cli, *args], env))
    median = {name: round(statistics.median(wall for wall, _ in values), 3) for name, values in samples.items()}
    cpu = {name: round(statistics.median(used for _, used in values), 3) for name, values in samples.items()}
    targets = {name: target for name, _, target in commands}
    return {
        "benchmark": "cli_latency",
        "rounds": rounds,
        "median_s": median,
        "over_python_s": {name: round(median[name] - median["python_pass"], 3) for name in targets},
        "median_cpu_s": cpu,
        "met": {name: median[name] <= target for name, target in targets.items()},
        "all_met": all(median[name] <= target for name, target in targets.items()),
        "skipped": [] if CAPTURE.exists() else [f"x_parse: {CAPTURE} is absent"],
        "loadavg_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "target": "wall median: --help <= 0.5 s; rules add|list|remove, users set|show, notify send, x parse "
                  "<= 1.0 s; rag query (empty knowledge base, cold) <= 3 s",
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
