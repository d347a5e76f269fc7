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
from pathlib import Path

import dagster as dg
import pytest

from tests.helpers.processes import alive
from tests.helpers.waiting import wait_for

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


FINAL_STATUSES = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def redis_server_pid(proc: subprocess.Popen, data_dir: Path, tmp_path: Path) -> int:
    """Wait until the asset runs; return the pid of the redis-server the run started."""
    marker = data_dir / "redis_server.pid"

    def written() -> str:
        text = marker.read_text() if marker.exists() else ""
        if not text and proc.poll() is not None:
            pytest.fail("the asset never started: " + (tmp_path / "run.log").read_text()[-2000:])
        return text

    # The pid comes from the server itself (INFO server); a fast run may already have stopped it.
    return int(wait_for(written, 90, "the asset to write its redis-server's pid", interval_s=0.2))


def assert_gone(pid: int, timeout_s: float = 15) -> None:
    try:
        wait_for(lambda: not alive(pid), timeout_s, f"redis-server {pid} to stop", interval_s=0.2)
    except AssertionError:
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"redis-server {pid} outlived its run")


def final_run_status(tmp_path: Path) -> dg.DagsterRunStatus:
    """The run's status once it is final (the run worker may still be writing it as its process ends)."""

    def final() -> dg.DagsterRunStatus | None:
        with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
            [run] = instance.get_runs()
            return run.status if run.status in FINAL_STATUSES else None

    return wait_for(final, 30, "the run to reach a final status", interval_s=0.2)


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
    assert final_run_status(tmp_path) == status


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
    assert final_run_status(tmp_path) == dg.DagsterRunStatus.CANCELED
