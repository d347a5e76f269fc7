"""Containers without Docker: podman, a Debian base image built here, the project's images, and a
harness that starts exactly what deploy/docker-compose.yml declares.

Only the package registries are reachable from these machines, so no image can be pulled:
- the base is a Debian bookworm root file system made by `debootstrap --variant=minbase` from the
  machine's own apt mirror, imported with `podman import`;
- the project's images are built from deploy/Dockerfile on it, with the machine's pip configuration
  (and the local package folders it names) mounted into the build, so pip finds the same packages,
  torch's CPU build among them;
- the public images the compose file names (`postgres:15-bookworm`, `redis:7.2-bookworm`) are built
  from Debian's packages under the same names (deploy/stand-in-images/).
Every image is tagged with a hash of what it is built from and reused while that hash holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
BASE_REPOSITORY = "impressox-debian-base"
DEBOOTSTRAP_INCLUDE = ("python3", "python3-venv", "ca-certificates")


class ContainerError(RuntimeError):
    pass


def podman(*args: str, check: bool = True, timeout: float = 600, capture: bool = True,
           input: str | None = None) -> subprocess.CompletedProcess:
    """Run `podman ARGS`; raise ContainerError with its stderr when it fails and `check` is set."""
    result = subprocess.run(["podman", *args], capture_output=capture, text=True, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise ContainerError(f"podman {' '.join(args[:3])} … failed ({result.returncode}): "
                             f"{(result.stderr or '')[-3000:]}")
    return result


def podman_missing_reason() -> str | None:
    """Why containers cannot run here, or None when `podman run` works."""
    for tool in ("podman", "runc", "debootstrap"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (scripts/setup.sh installs podman, runc, podman-compose, debootstrap)"
    if os.geteuid() != 0:
        return "the compose test runs rootful podman and needs root"
    info = podman("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False, timeout=60)
    if info.returncode != 0:
        return f"`podman info` fails: {info.stderr.strip()[-300:]}"
    return None


def debian_mirror() -> str:
    """The machine's Debian mirror, from its apt sources (deb822 or one-line format)."""
    candidates = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in candidates:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for match in re.finditer(r"^URIs:\s*(\S+)", text, flags=re.M):
            uri = match.group(1).rstrip("/")
            if uri.endswith("/debian"):
                return uri
        for match in re.finditer(r"^deb\s+(?:\[[^]]*]\s+)?(\S+)\s+bookworm\s", text, flags=re.M):
            if match.group(1).rstrip("/").endswith("/debian"):
                return match.group(1).rstrip("/")
    return "http://deb.debian.org/debian"


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False, timeout=60).returncode == 0


def digest(*parts: bytes | str | Path) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            if part.is_dir():
                for file in sorted(p for p in part.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                    h.update(str(file.relative_to(part)).encode())
                    h.update(file.read_bytes())
            else:
                h.update(part.read_bytes())
        else:
            h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()[:16]


def ensure_base_image(log: Callable[[str], None] = print) -> str:
    """`impressox-debian-base:bookworm-<hash>`: debootstrap's minimal bookworm with Python 3.11."""
    mirror = debian_mirror()
    tag = f"{BASE_REPOSITORY}:bookworm-{digest('minbase', mirror, ','.join(DEBOOTSTRAP_INCLUDE))}"
    if image_exists(tag):
        return tag
    log(f"building {tag} with debootstrap from {mirror}")
    with tempfile.TemporaryDirectory(prefix="impressox-debootstrap-") as tmp:
        root = Path(tmp) / "root"
        result = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(DEBOOTSTRAP_INCLUDE)}",
                                 "bookworm", str(root), mirror], capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise ContainerError(f"debootstrap failed: {(result.stdout + result.stderr)[-2000:]}")
        tarball = Path(tmp) / "base.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(tarball), "."], check=True, timeout=300)
        podman("import", "--change", "CMD [\"/bin/bash\"]", str(tarball), tag, timeout=600)
    return tag


@dataclass
class PipBuildConfig:
    """The machine's pip configuration, made usable inside `podman build`: one merged pip.conf
    (files and PIP_* variables in pip's own order) mounted at /etc/pip.conf, and every local path it
    names (package folders, constraints, certificates) mounted read-only at the same path."""

    conf: Path
    mounts: list[str] = field(default_factory=list)

    def volume_args(self) -> list[str]:
        args = ["-v", f"{self.conf}:/etc/pip.conf:ro,Z"]
        for path in self.mounts:
            args += ["-v", f"{path}:{path}:ro"]
        return args


def pip_build_config(python: str, workdir: Path) -> PipBuildConfig:
    listing = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             check=True, timeout=120).stdout
    settings: dict[str, str] = {}
    for line in listing.splitlines():
        key, _, raw = line.partition("=")
        if not raw:
            continue
        name = key.split(".", 1)[1] if "." in key else key
        value = raw.strip().strip("'\"")
        settings[name] = value  # pip lists files first, then the environment: later wins
    mounts: set[str] = set()
    for value in settings.values():
        for token in value.split():
            path = token[len("file://"):] if token.startswith("file://") else token
            if path.startswith("/") and Path(path).exists():
                # A folder listed as an index (".../simple") lives with its files one level up.
                target = Path(path).parent if Path(path).name == "simple" else Path(path)
                mounts.add(str(target))
    conf = workdir / "pip.conf"
    conf.write_text("[global]\n" + "".join(f"{k} = {v}\n" for k, v in sorted(settings.items())))
    # A mounted path inside another mounted path is already there.
    ordered = sorted(mounts)
    kept = [m for m in ordered if not any(m != o and m.startswith(o.rstrip("/") + "/") for o in ordered)]
    return PipBuildConfig(conf, kept)


def build_image(tag: str, *, dockerfile: Path, context: Path, target: str | None = None,
                build_args: dict[str, str] | None = None, extra: Iterable[str] = (),
                log: Callable[[str], None] = print, timeout: float = 1800) -> None:
    args = ["build", "--network", "host", "--layers", "-f", str(dockerfile), "-t", tag]
    if target:
        args += ["--target", target]
    for key, value in (build_args or {}).items():
        args += ["--build-arg", f"{key}={value}"]
    args += [*extra, str(context)]
    log(f"podman build {tag}")
    started = time.monotonic()
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise ContainerError(f"building {tag} failed:\n{(result.stdout + result.stderr)[-6000:]}")
    log(f"built {tag} in {time.monotonic() - started:.0f} s")


@dataclass
class ProjectImages:
    base: str
    user_code: str
    dagster: str
    postgres: str
    redis: str


def project_source_hash() -> str:
    return digest(DEPLOY / "Dockerfile", DEPLOY / "dagster.yaml", DEPLOY / "workspace.yaml",
                  DEPLOY / "entrypoint.py", REPO_ROOT / "pyproject.toml", REPO_ROOT / "README.md",
                  REPO_ROOT / "impressox_pipelines")


def ensure_images(compose: dict, workdir: Path, log: Callable[[str], None] = print) -> ProjectImages:
    """Every image the compose file names, built here when its hash-tagged build is not cached, and
    tagged with the exact name the compose file uses."""
    base = ensure_base_image(log)
    names = {name: service["image"] for name, service in compose["services"].items() if "image" in service}
    source = project_source_hash()
    pip = pip_build_config(sys.executable, workdir)
    built: dict[str, str] = {}
    for target, service in (("user_code", "user_code"), ("dagster", "webserver")):
        repository = names[service].split(":")[0]
        tag = f"{repository}:src-{digest(source, base)}"
        if not image_exists(tag):
            build_image(tag, dockerfile=DEPLOY / "Dockerfile", context=REPO_ROOT, target=target,
                        build_args={"BASE_IMAGE": f"localhost/{base}", "TORCH_INDEX_URL": ""},
                        extra=pip.volume_args(), log=log)
        podman("tag", tag, names[service], timeout=60)
        built[target] = names[service]
    for service in ("postgres", "redis"):
        folder = DEPLOY / "stand-in-images" / service
        repository, _, version = names[service].partition(":")
        tag = f"{repository}:{version}-debian-{digest(folder, base)}"
        if not image_exists(tag):
            build_image(tag, dockerfile=folder / "Dockerfile", context=folder,
                        build_args={"BASE_IMAGE": f"localhost/{base}"}, log=log)
        podman("tag", tag, names[service], timeout=60)
        built[service] = names[service]
    return ProjectImages(base, built["user_code"], built["dagster"], built["postgres"], built["redis"])


# --- The compose harness ------------------------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(ContainerError):
    """A `${NAME:?message}` of the compose file with NAME unset: nothing is started."""


def interpolate(node: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution: `${X}`, `${X:-default}`, `${X-default}`, `${X:?err}`, `${X?err}`, `$$`."""
    if isinstance(node, dict):
        return {k: interpolate(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env) for v in node]
    if not isinstance(node, str):
        return node

    def substitute(match: re.Match) -> str:
        escaped, braced, default_op, default, error_op, error, bare = match.groups()
        if escaped:
            return "$"
        name = braced or bare
        value = env.get(name)
        empty = value is None or (value == "" and ((default_op or error_op or "").startswith(":")))
        if default_op is not None:
            return default if empty else value
        if error_op is not None and empty:
            raise MissingVariable(f"required variable {name} is missing a value: {error}")
        return value or ""

    return _VARIABLE.sub(substitute, node)


def load_compose(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@dataclass
class Service:
    name: str
    container: str
    spec: dict


class ComposeProject:
    """Starts what a compose file declares — networks, named volumes, then each service in
    `depends_on` order, waiting for each dependency's condition (`service_healthy` by running the
    service's own health check, `service_started`) — with podman, and removes it all on `down()`.

    Health checks are run by this harness (`podman healthcheck run`): podman runs them on a timer only
    under systemd, which these machines do not have.
    """

    def __init__(self, compose: dict, env: dict[str, str], *, project: str = "impressox",
                 log: Callable[[str], None] = print):
        self.raw = compose
        self.env = env
        self.project = project
        self.log = log
        self.config = interpolate(compose, env)  # raises MissingVariable before anything starts
        self.services = {name: Service(name, f"{project}_{name}_1", spec)
                         for name, spec in self.config["services"].items()}

    def network_name(self, key: str) -> str:
        declared = (self.config.get("networks") or {}).get(key) or {}
        return declared.get("name") or f"{self.project}_{key}"

    def volume_name(self, key: str) -> str:
        declared = (self.config.get("volumes") or {}).get(key) or {}
        return declared.get("name") or f"{self.project}_{key}"

    def order(self) -> list[str]:
        done: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done:
                return
            if name in path:
                raise ContainerError(f"depends_on cycle: {' -> '.join(path + (name,))}")
            for dep in self.depends_on(name):
                visit(dep, path + (name,))
            done.append(name)

        for name in self.services:
            visit(name, ())
        return done

    def depends_on(self, name: str) -> dict[str, str]:
        deps = self.services[name].spec.get("depends_on") or {}
        if isinstance(deps, list):
            return {d: "service_started" for d in deps}
        return {d: (c or {}).get("condition", "service_started") for d, c in deps.items()}

    def run_args(self, service: Service) -> list[str]:
        spec = service.spec
        args = ["run", "-d", "--name", service.container, "--label", f"com.docker.compose.project={self.project}",
                "--label", f"com.docker.compose.service={service.name}"]
        networks = spec.get("networks") or ["default"]
        for key in (networks if isinstance(networks, list) else list(networks)):
            args += ["--network", self.network_name(key), "--network-alias", service.name]
        env = spec.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
        for key, value in env.items():
            if value is None:  # passed through from the caller's environment when set there
                if key in self.env:
                    args += ["-e", f"{key}={self.env[key]}"]
            else:
                args += ["-e", f"{key}={value}"]
        for mount in spec.get("volumes") or []:
            source, _, rest = str(mount).partition(":")
            if not source.startswith(("/", ".")):
                source = self.volume_name(source)
            args += ["-v", f"{source}:{rest}"]
        for port in spec.get("ports") or []:
            args += ["-p", str(port)]
        for group in spec.get("group_add") or []:
            args += ["--group-add", str(group)]
        if spec.get("user"):
            args += ["--user", str(spec["user"])]
        if spec.get("shm_size"):
            args += ["--shm-size", str(spec["shm_size"])]
        if spec.get("restart"):
            args += ["--restart", {"unless-stopped": "always"}.get(spec["restart"], spec["restart"])]
        health = spec.get("healthcheck") or {}
        test = health.get("test")
        if test:
            if isinstance(test, str):
                command = json.dumps(["CMD-SHELL", test])
            elif test[0] == "CMD-SHELL":
                command = json.dumps(test)
            else:
                command = json.dumps(test[1:] if test[0] == "CMD" else test)
            args += ["--health-cmd", command]
            for key, flag in (("interval", "--health-interval"), ("timeout", "--health-timeout"),
                              ("retries", "--health-retries"), ("start_period", "--health-start-period")):
                if key in health:
                    args += [flag, str(health[key])]
        if spec.get("entrypoint") is not None:
            args += ["--entrypoint", json.dumps(spec["entrypoint"])]
        args.append(spec["image"])
        command = spec.get("command")
        if command is not None:
            args += command if isinstance(command, list) else ["sh", "-c", command]
        return args

    def create_shared(self) -> None:
        for key in self.config.get("networks") or {}:
            name = self.network_name(key)
            if podman("network", "exists", name, check=False, timeout=60).returncode != 0:
                podman("network", "create", name, timeout=60)
        for key in self.config.get("volumes") or {}:
            name = self.volume_name(key)
            if podman("volume", "exists", name, check=False, timeout=60).returncode != 0:
                podman("volume", "create", name, timeout=60)

    def start(self, name: str) -> None:
        service = self.services[name]
        podman("rm", "-f", service.container, check=False, timeout=120)
        podman(*self.run_args(service), timeout=300)

    def up(self, services: Iterable[str] | None = None, *, health_timeout_s: float = 300) -> None:
        """Start `services` (default all) and their dependencies, each after its dependencies' conditions."""
        wanted = set(services or self.services)
        order = [n for n in self.order() if n in wanted or any(n in self._closure(w) for w in wanted)]
        self.create_shared()
        for name in order:
            if self.state(name).get("Status") == "running":
                continue
            for dep, condition in self.depends_on(name).items():
                if condition == "service_healthy":
                    self.wait_healthy(dep, health_timeout_s)
                elif condition == "service_completed_successfully":
                    raise ContainerError("service_completed_successfully is not used by this project")
            self.log(f"starting {name}")
            self.start(name)

    def _closure(self, name: str) -> set[str]:
        found = {name}
        for dep in self.depends_on(name):
            found |= self._closure(dep)
        return found

    def state(self, name: str) -> dict:
        out = podman("inspect", self.services[name].container, "--format", "{{json .State}}", check=False,
                     timeout=60)
        return json.loads(out.stdout) if out.returncode == 0 else {}

    def healthy(self, name: str) -> bool:
        result = podman("healthcheck", "run", self.services[name].container, check=False, timeout=120)
        return result.returncode == 0 and "unhealthy" not in (result.stdout or "")

    def wait_healthy(self, name: str, timeout_s: float) -> None:
        """Run the service's health check until it passes; fail naming the service, with its logs."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.state(name)
            if state.get("Status") == "running" and self.healthy(name):
                return
            if time.monotonic() > deadline:
                raise ContainerError(f"service {name} not healthy after {timeout_s:.0f} s (state "
                                     f"{state.get('Status')}, exit {state.get('ExitCode')}):\n{self.logs(name)}")
            time.sleep(2)

    def logs(self, name: str, tail: int = 60) -> str:
        out = podman("logs", "--tail", str(tail), self.services[name].container, check=False, timeout=60)
        return (out.stdout or "") + (out.stderr or "")

    def exec(self, name: str, *command: str, timeout: float = 300, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess:
        extra: list[str] = []
        for key, value in (env or {}).items():
            extra += ["-e", f"{key}={value}"]
        return podman("exec", *extra, self.services[name].container, *command, check=False, timeout=timeout)

    def ip(self, name: str) -> str:
        out = podman("inspect", self.services[name].container, "--format",
                     "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", timeout=60)
        return out.stdout.split()[0]

    def down(self, *, volumes: bool = True) -> None:
        for name in reversed(self.order()):
            podman("rm", "-f", "-t", "5", self.services[name].container, check=False, timeout=120)
        if volumes:
            for key in self.config.get("volumes") or {}:
                podman("volume", "rm", "-f", self.volume_name(key), check=False, timeout=120)
        for key in self.config.get("networks") or {}:
            podman("network", "rm", "-f", self.network_name(key), check=False, timeout=120)


def network_gateway(name: str) -> str:
    out = podman("network", "inspect", name, "--format", "{{range .Subnets}}{{.Gateway}} {{end}}", timeout=60)
    return out.stdout.split()[0]


class ApiService:
    """`podman system service`: the Docker Engine API on a unix socket, for docker-py and dagster-docker."""

    def __init__(self, socket_path: Path):
        self.socket = socket_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ApiService:
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{self.socket}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + 30
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise ContainerError("podman system service did not create its socket")
            time.sleep(0.1)
        # As Docker's own socket: owner and group may use it (podman creates it 0600).
        self.socket.chmod(0o660)
        return self

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
