"""deploy/: the compose file, the Dockerfile, the workspace and the instance config agree with each other
and with the code.

There is no Docker engine on these machines, so nothing is built or started here. These tests prove the
files are well-formed and consistent: every service the Dagster config names exists, every variable the
code reads reaches the user-code server and each run's container, each service has a health check and
a named volume, torch's CPU wheel is installed before the project. They do NOT prove that the images
build, that the base images and apt/pip packages resolve, that the health-check commands exist inside
the third-party images (postgres, mongo, redis), or that the containers start and reach each other:
that needs `docker compose up` on a machine with an engine (docs/ops.md, "Deploying").
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.helpers.paths import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
PACKAGE = REPO_ROOT / "impressox_pipelines"
VARIABLE = re.compile(r"\bIMPRESSOX_[A-Z0-9_]*[A-Z0-9]\b")
# Read by the package but never in a deployment, with the reason.
LOCAL_ONLY = {
    "IMPRESSOX_REPLAY_DIR": "the demo and `impressox standins` replay captures; production has no stand-ins",
    "IMPRESSOX_TEST_MONGODB_URI": "named in a docstring: the test suite's switch to a real MongoDB",
}
SERVICES = {"postgres", "webserver", "daemon", "user_code", "mongo", "redis", "chroma"}


def load_yaml(name: str) -> dict:
    class EnvTagLoader(yaml.SafeLoader):
        pass

    return yaml.load((DEPLOY / name).read_text(), Loader=EnvTagLoader)


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml("docker-compose.yml")


@pytest.fixture(scope="module")
def instance_config() -> dict:
    return load_yaml("dagster.yaml")


def env_references(node) -> set[str]:
    """Every `{env: NAME}` in a parsed Dagster config."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_references(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(env_references(v) for v in node)) if node else set()
    return set()


def variables_read_by_the_code() -> set[str]:
    """Every variable named in the package's text, and every field of the settings object (read from
    `IMPRESSOX_<FIELD>` without its name being spelled out)."""
    from impressox_pipelines.settings import Settings

    names = {f"{Settings.model_config['env_prefix']}{field.upper()}" for field in Settings.model_fields}
    for path in PACKAGE.rglob("*.py"):
        names |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    return names - set(LOCAL_ONLY)


def service_env(compose: dict, service: str) -> dict:
    return compose["services"][service].get("environment") or {}


def test_compose_has_every_service_with_a_health_check_and_a_named_volume(compose):
    services = compose["services"]
    assert SERVICES <= set(services)
    named = set(compose["volumes"])
    for name in SERVICES:
        service = services[name]
        assert service["healthcheck"]["test"], f"{name} has no health check"
        mounts = [str(v).split(":")[0] for v in service.get("volumes", [])]
        assert any(m in named for m in mounts), f"{name} has no named volume"
        if name in {"webserver", "daemon", "user_code", "chroma"}:
            assert "impressox-" in service["image"] and service["build"]["dockerfile"] == "deploy/Dockerfile"


def test_services_named_by_the_dagster_config_exist(compose, instance_config):
    services = compose["services"]
    workspace = load_yaml("workspace.yaml")["load_from"]
    grpc = workspace[0]["grpc_server"]
    assert grpc["host"] in services
    assert ["-p", str(grpc["port"])] == [a for a in services[grpc["host"]]["command"] if a in ("-p", str(grpc["port"]))]

    launcher = instance_config["run_launcher"]["config"]
    assert compose["networks"][launcher["network"]]["name"] == launcher["network"]
    for mount in launcher["container_kwargs"]["volumes"]:
        volume, path = mount.split(":")[:2]
        assert compose["volumes"][volume]["name"] == volume, f"{volume} needs a fixed name for run containers"
    for service in ("webserver", "daemon", "user_code"):
        env = service_env(compose, service)
        assert env["DAGSTER_POSTGRES_HOST"] in services
        assert "/opt/dagster/storage" in " ".join(services[service]["volumes"])
    assert services["user_code"]["environment"]["DAGSTER_CURRENT_IMAGE"] == services["user_code"]["image"]
    for value in service_env(compose, "user_code").values():
        for host in re.findall(r"https?://([a-z_]+)[:/]", str(value)):
            assert host in services or host == "localhost", f"{value} names no compose service"


def test_instance_variables_reach_every_dagster_process(compose, instance_config):
    referenced = env_references(instance_config)
    assert {"DAGSTER_POSTGRES_PASSWORD", "DAGSTER_CURRENT_IMAGE"} <= referenced
    for service in ("webserver", "daemon", "user_code"):
        missing = referenced - set(service_env(compose, service))
        assert not missing, f"{service} lacks {missing}"
    # Run containers read the same instance config.
    launcher_env = set(instance_config["run_launcher"]["config"]["env_vars"])
    assert {r for r in referenced if r != "DAGSTER_CURRENT_IMAGE"} <= launcher_env


def test_every_variable_the_code_reads_is_passed_through_by_name(compose, instance_config):
    read = variables_read_by_the_code()
    assert {"IMPRESSOX_MONGODB_URI", "IMPRESSOX_OPERATOR_CHAT_ID"} <= read
    launcher_env = instance_config["run_launcher"]["config"]["env_vars"]
    assert all("=" not in name for name in launcher_env), "forwarded by name, never by value"
    assert not read - set(launcher_env), f"run containers would not receive {read - set(launcher_env)}"
    for service in ("user_code", "daemon"):
        env = service_env(compose, service)
        assert not read - set(env), f"{service} lacks {read - set(env)}"
    # The daemon hands runs the values it has itself, and refuses to launch a run when a forwarded
    # variable is absent from its environment: an optional one must be blank, never left out.
    daemon = service_env(compose, "daemon")
    assert set(launcher_env) <= set(daemon)
    assert not [name for name in launcher_env if daemon[name] is None], "forwarded variables must always be set"


def test_no_secret_value_is_written_in_the_deploy_files(compose):
    for service in compose["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|TOKEN|_URI$|API_KEY", name) and value is not None:
                assert str(value).startswith("${"), f"{name} must come from the environment, not the file"


def dockerfile_stages() -> dict[str, list[str]]:
    """Instructions per stage (continuation lines joined)."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            current = line.split(" AS ")[-1].strip()
            stages[current] = []
        if current is not None:  # build arguments declared before the first stage are global
            stages[current].append(line)
    return stages


def test_dockerfile_installs_torch_cpu_before_the_project_and_serves_grpc():
    stages = dockerfile_stages()
    user_code = stages["user_code"]
    runs = [line for line in user_code if line.startswith("RUN ")]
    torch = next(i for i, line in enumerate(runs) if "torch==2.13.0" in line)
    project = next(i for i, line in enumerate(runs) if re.search(r"pip install \.($|\s)", line))
    assert torch < project
    # The CPU wheel index by default; a build may pass its own pip configuration instead (the compose test).
    assert "TORCH_INDEX_URL" in runs[torch]
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in user_code
    assert any("apt-get install" in line and " chromium" in line for line in runs)
    command = json_list(user_code[-1])
    assert command[:3] == ["dagster", "api", "grpc"] and "impressox_pipelines.definitions" in command
    assert command[command.index("-p") + 1] == str(load_yaml("workspace.yaml")["load_from"][0]["grpc_server"]["port"])


def json_list(instruction: str) -> list[str]:
    import json

    return json.loads(instruction.split(" ", 1)[1])


def test_dockerfile_pins_match_the_project_and_copies_exist():
    pins = {re.split(r"==", d)[0]: d for d in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
            ["project"]["dependencies"] if "==" in d and d.startswith("dagster")}
    dagster_stage = " ".join(dockerfile_stages()["dagster"])
    for name in ("dagster", "dagster-webserver", "dagster-postgres", "dagster-docker"):
        assert pins[name] in dagster_stage
    text = (DEPLOY / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+) ", text, flags=re.M):
        assert (REPO_ROOT / source).exists(), f"COPY {source}: no such file in the repository"
    assert "COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml" in text
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in text


def test_the_log_formatter_the_instance_names_needs_only_the_standard_library(instance_config):
    """The webserver and daemon image installs the package without dependencies (`--no-deps`)."""
    formatters = instance_config["python_logs"]["dagster_handler_config"]
    paths = [c["()"] for section in ("formatters", "filters") for c in formatters[section].values()]
    script = (
        "import importlib, sys\n"
        f"for path in {paths!r}:\n"
        "    module, name = path.rsplit('.', 1)\n"
        "    getattr(importlib.import_module(module), name)\n"
        "third = {m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names) - {'impressox_pipelines'}\n"
        "print(sorted(m for m in third if not m.startswith('_')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert out.stdout.strip() == "[]"


def test_the_example_env_file_covers_every_required_compose_variable():
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", (DEPLOY / "docker-compose.yml").read_text()))
    example = {line.split("=", 1)[0] for line in (DEPLOY / "impressox.env.example").read_text().splitlines()
               if "=" in line and not line.startswith("#")}
    assert required and required <= example


def test_docs_name_every_variable():
    docs = (REPO_ROOT / "docs" / "ops.md").read_text()
    compose_text = (DEPLOY / "docker-compose.yml").read_text()
    in_compose = set(re.findall(r"\b(?:DAGSTER|IMPRESSOX)_[A-Z0-9_]*[A-Z0-9]\b", compose_text))
    names = variables_read_by_the_code() | in_compose
    assert not {n for n in names if f"`{n}`" not in docs}
    assert "K8sRunLauncher" in docs and "no Docker engine" in docs
    assert Path(DEPLOY / "workspace.yaml").exists()
