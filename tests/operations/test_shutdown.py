"""Graceful shutdown: no embedded server or browser outlives its run, whether it succeeds, fails or is
cancelled.

A run is started as production starts one — a separate process (`dagster job execute`, the multiprocess
executor, so the step runs in a child) — with the project's embedded Redis resource, which starts a real
redis-server as a child of the step. Cancellation is done the way Dagster's Docker and Kubernetes run
launchers do it: the run is marked CANCELING, then the run worker receives SIGTERM (`docker stop`).
Afterwards no redis-server started by the run may be alive.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.operations.conftest import alive

LOCATION = Path(__file__).with_name("shutdown_location.py")


def start_run(tmp_path: Path, data_dir: Path, mode: str) -> subprocess.Popen:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "IMPRESSOX_DATA_DIR": str(data_dir),
           "IMPRESSOX_SHUTDOWN_MODE": mode}
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-f", str(LOCATION),
         "-j", "redis_holding_job"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "run.log", "wb"),
        start_new_session=True,
    )


def redis_server_pid(proc: subprocess.Popen, data_dir: Path, tmp_path: Path) -> int:
    """Wait until the asset runs; return the pid of the redis-server the run started."""
    marker = data_dir / "redis_server.pid"
    deadline = time.monotonic() + 90
    while not marker.exists() or not marker.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the asset never started: " + (tmp_path / "run.log").read_text()[-2000:])
        time.sleep(0.2)
    # The pid comes from the server itself (INFO server); a fast run may already have stopped it.
    return int(marker.read_text())


def assert_gone(pid: int, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"redis-server {pid} outlived its run")


def run_status(tmp_path: Path) -> dg.DagsterRunStatus:
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        return instance.get_runs()[0].status


@pytest.mark.parametrize("mode,status", [("succeed", dg.DagsterRunStatus.SUCCESS),
                                         ("fail", dg.DagsterRunStatus.FAILURE)])
def test_embedded_redis_stops_when_the_run_ends(tmp_path, data_dir, mode, status):
    proc = start_run(tmp_path, data_dir, mode)
    try:
        server = redis_server_pid(proc, data_dir, tmp_path)
        assert proc.wait(timeout=120) == (0 if mode == "succeed" else 1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert_gone(server)
    assert run_status(tmp_path) == status


def test_a_cancelled_run_leaves_no_redis_server_behind(tmp_path, data_dir):
    proc = start_run(tmp_path, data_dir, "hang")
    try:
        server = redis_server_pid(proc, data_dir, tmp_path)
        with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
            run = instance.get_runs()[0]
            instance.report_run_canceling(run)
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert_gone(server)
    assert run_status(tmp_path) == dg.DagsterRunStatus.CANCELED
