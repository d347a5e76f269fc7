"""The code location loads and validates through Dagster's own tools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from impressox_pipelines.definitions import build_definitions
from tests.conftest import REPO_ROOT

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
