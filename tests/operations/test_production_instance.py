"""The production instance config (deploy/dagster.yaml) against a real PostgreSQL server.

The config is loaded as deployed — Postgres storage, the QueuedRunCoordinator with its limits, the
DockerRunLauncher — with only the container's storage path moved to a temporary folder. Runs are
executed in-process (no Docker engine here), so the launcher is constructed and inspected, never used
to start a container.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from tests.helpers.paths import REPO_ROOT
from tests.helpers.waiting import wait_for
from tests.operations.production import render_production_home


@pytest.fixture
def production_home(tmp_path: Path, postgres, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    render_production_home(home)
    for key, value in postgres.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAGSTER_CURRENT_IMAGE", "impressox-user-code:latest")
    return home


@dg.asset
def probe_asset() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


def test_instance_uses_postgres_queue_and_docker_launcher(production_home):
    from dagster_docker import DockerRunLauncher
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        launcher = instance.run_launcher
        assert isinstance(launcher, DockerRunLauncher)
        assert launcher.image == "impressox-user-code:latest"
        assert launcher.networks == ["impressox"]
        assert launcher.env_vars and all("=" not in name for name in launcher.env_vars)
        queue = instance.get_concurrency_config().run_queue_config
        limits = {limit["key"]: limit for limit in queue.tag_concurrency_limits}
        assert limits["impressox/x_account_pool"]["value"] == {"applyLimitPerUniqueValue": True}
        assert limits["impressox/x_account_pool"]["limit"] == 1
        assert limits["impressox/telegram_delivery"]["limit"] == 1
        assert 1 <= queue.max_concurrent_runs <= 20
        assert instance.run_retries_enabled and instance.run_retries_max_retries >= 1
        assert instance.run_monitoring_enabled


def test_a_run_and_its_events_are_stored_in_postgres(production_home, postgres):
    job = dg.define_asset_job("probe_job", selection=[probe_asset])
    defs = dg.Definitions(assets=[probe_asset], jobs=[job])
    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        result = defs.resolve_job_def("probe_job").execute_in_process(
            instance=instance, tags={"impressox/telegram_delivery": "true"}
        )
        assert result.success
        run_id = result.run_id

    # A second instance (another process in production) reads it back from the database.
    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["impressox/telegram_delivery"] == "true"
        materialization = instance.get_latest_materialization_event(dg.AssetKey("probe_asset"))
        assert materialization.run_id == run_id
        assert materialization.asset_materialization.metadata["rows"].value == 3

    with postgres.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
        assert cur.fetchone() == ("SUCCESS",)
        cur.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))
        assert cur.fetchone()[0] > 5


FINAL_TICK_STATUSES = {"SUCCESS", "SKIPPED", "FAILURE"}  # a tick is STARTED while it is evaluated

SENSOR_LOCATION = textwrap.dedent('''
    import dagster as dg

    @dg.sensor(name="ops_probe_sensor", minimum_interval_seconds=1,
               default_status=dg.DefaultSensorStatus.RUNNING)
    def ops_probe_sensor(context):
        return dg.SkipReason("probe tick from the production daemon")

    defs = dg.Definitions(sensors=[ops_probe_sensor])
''')


def test_the_daemon_stores_sensor_ticks_in_postgres(production_home, postgres, tmp_path):
    """`dagster-daemon run` on the production config evaluates a sensor and stores its ticks."""
    (tmp_path / "location.py").write_text(SENSOR_LOCATION)
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(f"load_from:\n  - python_file:\n      relative_path: {tmp_path / 'location.py'}\n"
                         f"      location_name: ops_probe\n")
    env = {**os.environ, "DAGSTER_HOME": str(production_home)}
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "daemon.log", "wb"),
        start_new_session=True,
    )

    def final_ticks() -> list[tuple]:
        """The sensor's ticks that are over, oldest first."""
        if daemon.poll() is not None:
            pytest.fail("dagster-daemon exited: " + (tmp_path / "daemon.log").read_text()[-2000:])
        with postgres.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT job_origin_id, selector_id, status FROM job_ticks WHERE status IN %s ORDER BY id",
                        (tuple(FINAL_TICK_STATUSES),))
            return cur.fetchall()

    try:
        ticks = wait_for(final_ticks, 120, "a sensor tick in a final state in PostgreSQL", interval_s=1)
    finally:
        os.killpg(daemon.pid, 15)
        daemon.wait(timeout=60)
    origin_id, selector_id, status = ticks[0]
    assert status == "SKIPPED"
    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        stored = [t for t in instance.get_ticks(origin_id, selector_id) if t.status.value in FINAL_TICK_STATUSES]
        assert stored and all(t.skip_reason == "probe tick from the production daemon" for t in stored)


def test_doctor_reports_postgres_up_then_down(production_home, postgres, monkeypatch):
    from impressox_pipelines.cli.operations import _dagster_instance_probe
    from impressox_pipelines.operations.doctor import FAIL, OK, Check, run_check

    monkeypatch.setenv("DAGSTER_HOME", str(production_home))
    check = Check("dagster_instance", "postgres", _dagster_instance_probe, timeout_s=30)
    up = run_check(check)
    assert up.verdict == OK and "PostgresRunStorage" in up.detail
    postgres.stop()
    try:
        down = run_check(check)
    finally:
        postgres.start()
    assert down.verdict == FAIL
    assert postgres.password not in down.detail


def test_rendering_changes_only_the_storage_path(tmp_path):
    rendered = render_production_home(tmp_path / "home").read_text().splitlines()
    original = (REPO_ROOT / "deploy" / "dagster.yaml").read_text().splitlines()
    changed = [(a, b) for a, b in zip(original, rendered, strict=True) if a != b]
    assert changed and all("/opt/dagster/storage" in a for a, _ in changed)
