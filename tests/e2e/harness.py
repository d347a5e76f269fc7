"""A local deployment for end-to-end tests and benchmarks: the stand-ins, `dagster dev` with its daemon on
a private instance and data directory, and the commands an operator would use against it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.helpers.paths import REPO_ROOT
from tests.helpers.processes import free_port
from tests.helpers.waiting import wait_for

BIN = Path(sys.executable).parent


@dataclass
class LocalDeployment:
    url: str  # the Dagster webserver
    env: dict[str, str]  # the environment of every process of the deployment
    home: Path
    log_path: Path
    dev: Any = None  # the DagsterDev running it

    def cli(self, *args: str, timeout_s: float = 180) -> subprocess.CompletedProcess:
        """Run a command (`dagster …`, `impressox …`) with the deployment's environment."""
        result = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=REPO_ROOT, env=self.env,
                                capture_output=True, text=True, timeout=timeout_s)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stdout[-1500:]}{result.stderr[-1500:]}")
        return result

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
        response.raise_for_status()
        return response.json()["data"]

    def last_successful_run_end(self, job: str, started_after: float) -> float | None:
        """End time (epoch s) of the latest successful run of `job` that started after `started_after`."""
        data = self.graphql(
            """query($f: RunsFilter) { runsOrError(filter: $f, limit: 10) {
                 ... on Runs { results { runId startTime endTime status } } } }""",
            {"f": {"pipelineName": job, "statuses": ["SUCCESS"]}},
        )
        ends = [r["endTime"] for r in data["runsOrError"]["results"] if (r["startTime"] or 0) > started_after]
        return max(ends) if ends else None

    def sensor_ticks(self, name: str) -> list[dict]:
        """The sensor's recent ticks (newest first): `status`, `timestamp` (epoch s), `runIds`."""
        data = self.graphql(
            """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
                 ... on Sensor { sensorState { ticks(limit: 20) { status timestamp runIds } } } } }""",
            {"s": {"repositoryLocationName": "impressox_pipelines", "repositoryName": "__repository__",
                   "sensorName": name}},
        )
        sensor = data["sensorOrError"]
        return sensor["sensorState"]["ticks"] if "sensorState" in sensor else []


def messages_to(telegram_url: str, chat_id: int | str) -> list[dict]:
    """The messages the Telegram stand-in received for `chat_id`, in arrival order."""
    received = httpx.get(f"{telegram_url}/_standin/received", timeout=10).json()["messages"]
    return [m for m in received if str(m["chat_id"]) == str(chat_id)]


class DagsterDev:
    """`dagster dev` (webserver + daemon) in its own process group; `restart()` stops it as an operator
    would (SIGTERM to the group) and starts it again on the same instance and port."""

    def __init__(self, deployment: LocalDeployment, port: int):
        self.deployment = deployment
        self.port = port
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> None:
        self._log = open(self.deployment.log_path, "a")
        self.proc = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(self.port), "-w",
             str(REPO_ROOT / "workspace.yaml")],
            cwd=REPO_ROOT, env=self.deployment.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
            # SIGINT stops dagster dev cleanly, unless it was inherited as ignored (background jobs of scripts).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        wait_for(self._ready, timeout_s=240, what="dagster dev to answer")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("dagster dev exited:\n" + self.deployment.log_path.read_text()[-3000:])
        try:
            return httpx.get(f"{self.deployment.url}/server_info", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGINT) -> None:
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()

    def restart(self) -> None:
        """SIGTERM (what a service manager sends), then start again."""
        self.stop(signal.SIGTERM)
        self.start()


@contextmanager
def local_deployment(tmp_path: Path, stand_in_env: dict[str, str], extra_env: dict[str, str] | None = None,
                     ) -> Iterator[LocalDeployment]:
    """`dagster dev` (webserver + daemon) in its own process group, on a private instance and data dir.
    The deployment's `dev` attribute restarts it."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    # The project's local instance settings (run queue, pools, retries, telemetry), storage moved to tmp_path.
    instance = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    instance["storage"] = {"sqlite": {"base_dir": str(home / "storage")}}
    instance["local_artifact_storage"]["config"]["base_dir"] = str(home / "artifacts")
    instance["compute_logs"]["config"]["base_dir"] = str(home / "compute_logs")
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance))
    data = tmp_path / "impressox-data"
    data.mkdir(exist_ok=True)
    port = free_port()
    env = {
        **os.environ, **stand_in_env, **(extra_env or {}),
        "DAGSTER_HOME": str(home), "IMPRESSOX_DATA_DIR": str(data),
        "IMPRESSOX_TELEGRAM_BOT_TOKEN": "123456:impressox-e2e-token",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    }
    deployment = LocalDeployment(f"http://127.0.0.1:{port}", env, home, tmp_path / "dagster_dev.log")
    deployment.dev = DagsterDev(deployment, port)
    deployment.dev.start()
    try:
        yield deployment
    finally:
        deployment.dev.stop()
