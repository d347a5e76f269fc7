"""Real servers for the operations tests: PostgreSQL 15 and Debian's redis-server (the Telegram stand-in is
`telegram_standin` in tests/conftest.py).

PostgreSQL and redis-server are Debian's packages (scripts/setup.sh installs them); the tests start
them on 127.0.0.1 in temporary folders and stop them. PostgreSQL refuses to run as root, so as root the
server runs as the `postgres` user (runuser). Nothing is installed here: a missing package skips.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.processes import free_port
from tests.helpers.waiting import wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class PostgresServer:
    """A running PostgreSQL cluster: password authentication over TCP on 127.0.0.1."""

    root: Path
    port: int
    user: str
    password: str
    database: str
    runner: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.runner, str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args], check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._pg_ctl("-o", options, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def env(self) -> dict[str, str]:
        """The DAGSTER_POSTGRES_* variables deploy/dagster.yaml reads."""
        return {
            "DAGSTER_POSTGRES_HOST": "127.0.0.1",
            "DAGSTER_POSTGRES_PORT": str(self.port),
            "DAGSTER_POSTGRES_DB": self.database,
            "DAGSTER_POSTGRES_USER": self.user,
            "DAGSTER_POSTGRES_PASSWORD": self.password,
        }

    def connect(self):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                                dbname=self.database)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server of our own for the session, with an empty `dagster` database."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 (Debian package `postgresql`) is not installed; scripts/setup.sh installs it")
    runner: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="impressox-pg-"))
    if os.geteuid() == 0:
        runner = ["runuser", "-u", "postgres", "--"]
        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
    password = "pg-Secret-" + os.urandom(6).hex()
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if runner:
        os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
    server = PostgresServer(root, free_port(), "dagster", password, "dagster", runner)
    subprocess.run([*runner, str(PG_BIN / "initdb"), "-D", str(server.data), "-U", "dagster", "-A",
                    "scram-sha-256", f"--pwfile={pwfile}", "--no-sync"], check=True, capture_output=True,
                   timeout=120)
    server.start()
    try:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=server.port, user="dagster", password=password,
                                dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE dagster")
        conn.close()
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped by a test
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class RedisServer:
    """Debian's redis-server with a password, on a TCP port of 127.0.0.1."""

    port: int
    password: str
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server (Debian package `redis-server`) is not installed")
    port = free_port()
    password = "redis-Secret-" + os.urandom(6).hex()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), "--requirepass", password],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = RedisServer(port, password, process)

    def accepting() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    try:
        wait_for(accepting, 10, f"redis-server to accept connections on port {port}", interval_s=0.05)
    except AssertionError:
        server.stop()
        raise
    yield server
    server.stop()
