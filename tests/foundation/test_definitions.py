"""The code location loads and validates through Dagster's own tools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from impressox_pipelines.definitions import build_definitions
from tests.helpers.paths import REPO_ROOT

BIN = Path(sys.executable).parent


def test_definitions_build_with_every_shared_resource():
    defs = build_definitions()
    assert {"mongo", "redis", "chroma", "telegram"} <= set(defs.resources)
    assert defs.resolve_job_def("main_job") is not None


def test_dagster_definitions_validate(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    result = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "impressox_pipelines.definitions"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Validation successful" in result.stdout + result.stderr


def test_dg_check_defs(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    result = subprocess.run(
        [str(BIN / "dg"), "check", "defs", "--use-active-venv"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_main_schedule_requests_today_and_closes_yesterday_in_the_first_hour():
    from datetime import UTC, datetime

    import dagster as dg

    from impressox_pipelines.jobs.main import main_schedule

    noon = datetime(2026, 3, 29, 12, 5, tzinfo=UTC)
    at_noon = main_schedule(dg.build_schedule_context(scheduled_execution_time=noon))
    assert [r.partition_key for r in at_noon] == ["2026-03-29"]
    after_midnight = main_schedule(
        dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 30, 0, 5, tzinfo=UTC)))
    assert [r.partition_key for r in after_midnight] == ["2026-03-30", "2026-03-29"]
    # Run keys are deterministic per scheduled time, and distinct between hours.
    again = main_schedule(dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 29, 12, 5, tzinfo=UTC)))
    assert [r.run_key for r in again] == [r.run_key for r in at_noon]
    later = main_schedule(dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 29, 13, 5, tzinfo=UTC)))
    assert later[0].run_key != at_noon[0].run_key


def test_the_partitions_start_where_the_settings_say(monkeypatch, tmp_path):
    """`IMPRESSOX_PARTITIONS_START` sets the first daily partition (read when the code location loads)."""
    import warnings
    from datetime import date

    import yaml

    from impressox_pipelines.partitions import daily_partitions
    from impressox_pipelines.settings import Settings, load_settings

    assert Settings.model_fields["partitions_start"].default == date(2025, 1, 1)
    assert daily_partitions.get_first_partition_key() == load_settings().partitions_start.isoformat()
    assert build_definitions().resolve_job_def("main_job").partitions_def == daily_partitions
    monkeypatch.setenv("IMPRESSOX_PARTITIONS_START", "2026-05-01")
    script = "from impressox_pipelines.partitions import daily_partitions as p; print(p.get_first_partition_key())"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    loaded = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert loaded.stdout.strip() == "2026-05-01", loaded.stderr[-2000:]
    # A first visit of the UI: no community dialog, so nothing (`.nux/`) is written into DAGSTER_HOME.
    assert yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())["nux"] == {"enabled": False}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        build_definitions().get_repository_def()
    assert not [str(w.message) for w in seen if "impressox_pipelines" in w.filename], "a warning from our code"
