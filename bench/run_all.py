"""`make bench`: run every benchmark under bench/ and write bench/RESULTS.md.

`python bench/run_all.py NAME [NAME ...]` runs only those benchmarks (script names without `.py`) and
replaces only their rows of RESULTS.md, keeping the others with their dates.

Each benchmark is a standalone script that prints one JSON line (its last line of output) with at
least `benchmark` and `target`; every other key is a figure. Scripts run one after another (never in
parallel: the machine has two cores and the figures are ratios measured side by side in one run).
"""

from __future__ import annotations

import argparse
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


def _previous_rows() -> dict[str, str]:
    """RESULTS.md's table rows by benchmark name (kept when only some benchmarks are re-run)."""
    results = HERE / "RESULTS.md"
    if not results.exists():
        return {}
    rows = [line for line in results.read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| benchmark |")]
    return {row.split(" | ", 1)[0].removeprefix("| "): row for row in rows}


def main(argv: list[str] | None = None) -> int:
    available = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))
    parser = argparse.ArgumentParser(description="Run the benchmarks and write bench/RESULTS.md.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"only these benchmarks (default: all): {', '.join(p.stem for p in available)}")
    names = set(parser.parse_args(argv).names)
    unknown = names - {p.stem for p in available}
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}")
    scripts = [p for p in available if not names or p.stem in names]
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
    table = _previous_rows() if names else {}
    for result in rows:
        figures = {k: v for k, v in result.items() if k not in {"benchmark", "target"}}
        figure = "; ".join(f"{k}={_cell(v)}" for k, v in figures.items())
        table[result["benchmark"]] = (f"| {result['benchmark']} | {figure} | {_cell(result.get('target', ''))} "
                                      f"| {machine} | {date} |")
    lines += [table[name] for name in sorted(table)]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"bench: wrote {HERE / 'RESULTS.md'}")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
