"""`make bench`: run every benchmark under bench/ and write bench/RESULTS.md.

Each benchmark is a standalone script that prints one JSON line (its last line of output) with at
least `benchmark` and `target`; every other key is a figure. Scripts run one after another (never in
parallel: the machine has two cores and the figures are ratios measured side by side in one run).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem_gb:.0f} GB, {cpu}"


def _run(script: Path) -> dict:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=HERE.parent)
    elapsed = time.monotonic() - started
    lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"benchmark": script.stem, "error": f"exit {proc.returncode}: {tail[0][:200]}", "seconds": elapsed}
    result = json.loads(lines[-1])
    result.setdefault("benchmark", script.stem)
    result["seconds"] = round(elapsed, 1)
    return result


def _cell(value: object) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return text.replace("|", "\\|")


def main() -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))
    machine = _machine()
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    rows = []
    for script in scripts:
        print(f"bench: running {script.name} …", flush=True)
        result = _run(script)
        print(json.dumps(result), flush=True)
        rows.append(result)
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {date}. Machine: {machine}. Each figure comes from one run; ratios are",
        "measured side by side in the same run.",
        "",
        "| benchmark | figure | target | machine | date |",
        "|---|---|---|---|---|",
    ]
    for result in rows:
        figures = {k: v for k, v in result.items() if k not in {"benchmark", "target"}}
        figure = "; ".join(f"{k}={_cell(v)}" for k, v in figures.items())
        lines.append(f"| {result['benchmark']} | {figure} | {_cell(result.get('target', ''))} | {machine} | {date} |")
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"bench: wrote {HERE / 'RESULTS.md'}")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
