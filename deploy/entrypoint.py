"""Entry point of both images: check a Dagster process can start, then become it.

For a Dagster command (`dagster`, `dagster-webserver`, `dagster-daemon`: the code server, the webserver,
the daemon and every run container the launcher starts):
  1. every variable `$DAGSTER_HOME/dagster.yaml` reads (`{env: NAME}`) must be set, else the container
     exits with status 2 naming each missing one (Dagster itself would only fail on first use);
  2. PostgreSQL must accept a login within IMPRESSOX_POSTGRES_WAIT_S seconds (default 120), else the
     container exits with status 3 saying which server it waited for and the last error; a compose
     restart policy then tries again.
Any other command (`chroma run`, `impressox doctor`, a shell) starts at once. Standard library only,
except psycopg2 when it is installed (both images have it through dagster-postgres).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path

DAGSTER_COMMANDS = {"dagster", "dagster-webserver", "dagster-daemon"}


def required_variables(config: Path) -> list[str]:
    """The `{env: NAME}` references of a Dagster instance file, in order, without duplicates."""
    if not config.exists():
        return []
    text = "\n".join(line.split("#", 1)[0] for line in config.read_text().splitlines())  # not in comments
    names = re.findall(r"\{\s*env:\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}", text)
    return list(dict.fromkeys(names))


def try_postgres(host: str, port: int, timeout: float) -> str | None:
    """None when PostgreSQL accepts a login; else the reason (never containing the password)."""
    try:
        import psycopg2
    except ImportError:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return None
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}"
    try:
        psycopg2.connect(host=host, port=port, dbname=os.environ.get("DAGSTER_POSTGRES_DB", "postgres"),
                         user=os.environ.get("DAGSTER_POSTGRES_USER"),
                         password=os.environ.get("DAGSTER_POSTGRES_PASSWORD"), connect_timeout=max(1, int(timeout))
                         ).close()
        return None
    except psycopg2.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def wait_for_postgres(host: str, port: int, wait_s: float) -> str | None:
    """Poll until PostgreSQL accepts a login; the last error when `wait_s` seconds pass first."""
    deadline = time.monotonic() + wait_s
    while True:
        reason = try_postgres(host, port, timeout=3)
        if reason is None or time.monotonic() >= deadline:
            return reason
        time.sleep(1)


def main(argv: list[str]) -> int:
    if not argv:
        print("entrypoint: no command given", file=sys.stderr)
        return 64
    if Path(argv[0]).name in DAGSTER_COMMANDS:
        config = Path(os.environ.get("DAGSTER_HOME", "/opt/dagster/dagster_home")) / "dagster.yaml"
        missing = [name for name in required_variables(config) if not os.environ.get(name, "").strip()]
        if missing:
            print(f"entrypoint: refusing to start {argv[0]}: {', '.join(missing)} not set "
                  f"({config} reads {'them' if len(missing) > 1 else 'it'})", file=sys.stderr, flush=True)
            return 2
        host = os.environ.get("DAGSTER_POSTGRES_HOST")
        if host:
            port = int(os.environ.get("DAGSTER_POSTGRES_PORT") or 5432)
            wait_s = float(os.environ.get("IMPRESSOX_POSTGRES_WAIT_S") or 120)
            reason = wait_for_postgres(host, port, wait_s)
            if reason is not None:
                print(f"entrypoint: PostgreSQL at {host}:{port} (DAGSTER_POSTGRES_HOST, DAGSTER_POSTGRES_PORT) "
                      f"not ready after {wait_s:g} s, not starting {argv[0]}: {reason}", file=sys.stderr, flush=True)
                return 3
    executable = shutil.which(argv[0]) or argv[0]
    os.execvp(executable, argv)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
