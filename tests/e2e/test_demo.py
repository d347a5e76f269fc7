"""`impressox demo` (what `make demo` runs) finishes and prints a summary with real counts in every line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import REPO_ROOT

EXPECTED_LINES = (
    r"tweets scraped and stored: (\d+)",
    r"price snapshots: (\d+) symbols, rules evaluated: (\d+), alerts fired: (\d+)",
    r"airdrop opportunities \(\d{4}-\d\d-\d\d\): (\d+), scam-flagged: (\d+)",
    r"flagged, e.g. @\w+: risk [\d.]+, text model p=[\d.]+: (\w+)",
    r"backend events applied: (\d+); messages delivered: (\d+)",
    r"chunks embedded: (\d+) \((\d+) document chunks, (\d+) tweets\)",
    r'rag query ".+" → (\S+) \(score',
)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian chromium is not installed")
def test_demo_summary_has_non_zero_counts_in_every_line(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(f"storage:\n  sqlite:\n    base_dir: {home}\ntelemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "IMPRESSOX_DATA_DIR": str(tmp_path / "data")}
    env.pop("IMPRESSOX_REPLAY_DIR", None)
    result = subprocess.run([str(Path(sys.executable).parent / "impressox"), "demo"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = result.stdout.split("\nSummary\n", 1)[1]
    for pattern in EXPECTED_LINES:
        match = re.search(pattern, summary)
        assert match, f"summary lacks {pattern!r}:\n{summary}"
        numbers = [g for g in match.groups() if g.isdigit()]
        assert all(int(n) > 0 for n in numbers), f"a zero count in {match.group(0)!r}"
    # Each demo has stores of its own, so the counts are this run's.
    assert (tmp_path / "data" / "demo" / "generated").is_dir()
