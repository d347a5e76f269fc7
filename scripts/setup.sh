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

if [ ! -f "$STAMP" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  echo "setup: installing Python packages into $VENV (first run: about 3 minutes)"
  # torch first: its CPU wheel. Anything depending on torch would otherwise pull a multi-GB CUDA build.
  "$VENV/bin/pip" install -q torch==2.13.0 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  "$VENV/bin/pip" install -q -e '.[dev]' 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi
