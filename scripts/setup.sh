#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine (run as root): system packages, .venv, the project.
# Idempotent: each step is skipped when already done. Called by `make demo`, `make test` and `make dev`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${need_apt[*]} (run as root, or: sudo apt-get install -y ${need_apt[*]})" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Containers for tests/operations/test_compose.py (no Docker engine here): podman with runc, its
# Docker-compatible API for the run launcher, podman-compose, and debootstrap for the base image.
need_containers=()
for tool in podman runc podman-compose debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || need_containers+=("$tool")
done
if [ ${#need_containers[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: note: ${need_containers[*]} missing; the compose test will skip (as root: apt-get install -y ${need_containers[*]})" >&2
  else
    echo "setup: installing Debian packages: ${need_containers[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_containers[@]}" >/dev/null
  fi
fi
# podman's defaults need systemd and a pure cgroup v2 (crun refuses "cgroups in hybrid mode"; the
# default ulimits fail with "setrlimit: Operation not permitted" here): on such a machine use runc and
# cgroupfs, and keep the limits the container is given. Never overwrite a file an operator wrote.
CONTAINERS_CONF=/etc/containers/containers.conf
if command -v podman >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && [ ! -e "$CONTAINERS_CONF" ]; then
  if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]; then
    echo "setup: writing $CONTAINERS_CONF (runc, cgroupfs, no default ulimits: no systemd or cgroup v2 here)"
    mkdir -p /etc/containers
    cat > "$CONTAINERS_CONF" <<'CONF'
# Written by impressox-pipelines scripts/setup.sh: this machine lacks systemd or a pure cgroup v2.
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
  fi
fi

if [ ! -f "$STAMP" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  echo "setup: installing Python packages into $VENV (first run: about 3 minutes)"
  # torch first: its CPU wheel. Anything depending on torch would otherwise pull a multi-GB CUDA build.
  "$VENV/bin/pip" install -q torch==2.13.0 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  "$VENV/bin/pip" install -q -e '.[dev]' 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi
