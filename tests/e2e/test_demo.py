"""`impressox demo` (what `make demo` runs) finishes, prints a summary with real counts in every line, and
every id it prints is found by the command it prints beside it, with the values the UI's metadata shows."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import REPO_ROOT

EXPECTED_LINES = (
    r"price candles stored: (\d+)",
    r"tweets scraped and stored: (\d+) \((\d+) in the partition of",
    r"price snapshots: (\d+) symbols; price rules: (\d+) \(.+\), evaluated (\d+) times; alerts fired: (\d+)",
    r"airdrop decisions \(\d{4}-\d\d-\d\d\), two separate sets of tweet groups: (\d+) opportunities \(clean, may be "
    r"sent\) and (\d+) scam-flagged \(never sent\); scores are 0-100",
    r"flagged, e.g. @\w+ \(tweet \d+\): risk [\d.]+ \(flags at [\d.]+\), text model p=[\d.]+: (\w+)",
    r"backend events applied: (\d+); messages delivered: (\d+)",
    r"chunks embedded: (\d+) \((\d+) document chunks, (\d+) tweets",
    r'rag query ".+" → (\S+) \(score',
)
# The CLI of this checkout (the venv's `impressox` script may import another one).
CLI = [sys.executable, "-c", "from impressox_pipelines.cli import main; main()"]


def _run_cli(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a summary's `→ VAR=value … impressox ARGS` line as printed, with this checkout's CLI."""
    words = shlex.split(command.split("→ ", 1)[1])
    assignments = {}
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    assert Path(words[0]).name == "impressox", command
    return subprocess.run([*CLI, *words[1:]], cwd=REPO_ROOT, env={**env, **assignments}, capture_output=True,
                          text=True, timeout=300)


def _check_follow_up(line: str, output: str) -> None:
    """The ids and values of a summary line are in its command's output."""
    if rules := re.search(r"price rules: \d+ \((.+?)\)", line):
        for rule_id in rules.group(1).split(", "):
            assert re.search(rf"^{re.escape(rule_id)}\t", output, re.M), (rule_id, output)
    elif score := re.match(r"\s+\d\. ([\d.]+)/100 .*\(tweet (\d+)\)", line):
        assert f"tweet {score.group(2)} by @" in output
        assert re.search(rf"^score: {re.escape(score.group(1))}/100", output, re.M), (line, output)
    elif risk := re.search(r"\(tweet (\d+)\): risk ([\d.]+)", line):
        assert re.search(rf"^scam risk: {re.escape(risk.group(2))} \(flagged", output, re.M), (line, output)
        assert "FLAGGED as scam risk" in output
    elif chat := re.search(r"to chat (\d+)", line):
        assert chat.group(1) in output
    elif source := re.search(r'rag query ".+" → (\S+) \(score', line):
        assert source.group(1) in output
    else:
        raise AssertionError(f"no check for the command under {line!r}")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian chromium is not installed")
def test_demo_summary_has_real_counts_and_every_printed_id_is_found_by_its_command(tmp_path: Path):
    import dagster as dg

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(f"storage:\n  sqlite:\n    base_dir: {home}\ntelemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "IMPRESSOX_DATA_DIR": str(tmp_path / "data")}
    env.pop("IMPRESSOX_REPLAY_DIR", None)
    result = subprocess.run([*CLI, "demo"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = result.stdout.split("\nSummary\n", 1)[1]
    for pattern in EXPECTED_LINES:
        match = re.search(pattern, summary)
        assert match, f"summary lacks {pattern!r}:\n{summary}"
        numbers = [g for g in match.groups() if g.isdigit()]
        assert all(int(n) > 0 for n in numbers), f"a zero count in {match.group(0)!r}"
    # Each demo has stores of its own, so the counts are this run's.
    assert (tmp_path / "data" / "demo" / "generated").is_dir()

    # Follow the summary into the CLI: each "→" line runs as printed and finds what the line above names.
    lines = summary.splitlines()
    followed = 0
    for above, line in zip(lines, lines[1:], strict=False):
        if line.strip().startswith("→ "):
            assert "IMPRESSOX_DATA_DIR=" in line and "demo/generated" in line, line
            run = _run_cli(line, {k: v for k, v in env.items() if k != "IMPRESSOX_DATA_DIR"})
            assert run.returncode == 0, (line, run.stdout[-2000:], run.stderr[-2000:])
            _check_follow_up(above, run.stdout)
            followed += 1
    assert followed >= 6, summary

    # The same counts as the UI: the airdrop asset's materialization metadata.
    counts = re.search(r"groups: (\d+) opportunities .* and (\d+) scam-flagged", summary)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("airdrop_opportunities"))
        metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert (metadata["opportunities"], metadata["scam_flagged_opportunities"]) == tuple(map(int, counts.groups()))


def test_the_runs_warnings_are_printed_once_grouped():
    import dagster as dg

    from impressox_pipelines.demo import run_warnings, warning_lines

    @dg.op
    def fetch_candles(context):
        for _ in range(3):
            context.log.warning("no klines in the window")
        context.log.warning("HTTP 404 from http://127.0.0.1/api/v3/klines")

    @dg.job
    def noisy_job():
        fetch_candles()

    with dg.DagsterInstance.ephemeral() as instance:
        result = noisy_job.execute_in_process(instance=instance)
        lines = warning_lines(run_warnings(instance, [result.run_id]))
    assert lines == ["Warnings logged by the runs (4, 2 distinct):",
                     "  fetch_candles: 3× no klines in the window",
                     "  fetch_candles: HTTP 404 from http://127.0.0.1/api/v3/klines"]


def test_a_step_whose_asset_stored_nothing_says_so_with_the_reason():
    import dagster as dg

    from impressox_pipelines.demo import stored_nothing

    @dg.asset(name="price_candles")
    def no_candles():
        return dg.MaterializeResult(metadata={
            "candles_inserted": 0, "candles_changed": 0, "candles_unchanged": 0,
            "notes": dg.MetadataValue.json(["BTC/USD 2026-12-03: binance BTCUSDT: no klines in the window"])})

    result = dg.materialize([no_candles])
    assert stored_nothing(result) == ["price_candles (BTC/USD 2026-12-03: binance BTCUSDT: no klines in the window)"]
