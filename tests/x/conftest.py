"""X fixtures: the X stand-in on a loopback port, accounts files, and the scraper resource pointed at it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from impressox_pipelines.standins.server import StandInServer
from impressox_pipelines.standins.x import StandInAccount, create_app
from impressox_pipelines.x.accounts import AccountPool, load_accounts

GOOD = StandInAccount("e_good", "tok-good", "ct0-good")


def write_accounts(path: Path, accounts: list[StandInAccount], proxies: dict[str, list[str]] | None = None) -> Path:
    entries = [{"username": a.username, "auth_token": a.auth_token, "ct0": a.ct0,
                **({"proxies": proxies[a.username]} if proxies and a.username in proxies else {})}
               for a in accounts]
    path.write_text(json.dumps(entries))
    return path


@pytest.fixture
def standin_factory():
    """Start X stand-ins with given accounts; all are stopped at teardown."""
    servers = []

    def start(accounts: list[StandInAccount] | None = None, **kwargs) -> StandInServer:
        server = StandInServer(create_app(accounts=accounts or [GOOD], **kwargs)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def pool_factory(mongo, tmp_path):
    def make(accounts: list[StandInAccount], proxies: dict[str, list[str]] | None = None) -> AccountPool:
        file = write_accounts(tmp_path / "x-accounts.json", accounts, proxies)
        return AccountPool(mongo.get_database()["x_accounts"], load_accounts(file))

    return make
