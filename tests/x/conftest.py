"""X fixtures: the X stand-in on a loopback port, accounts files, and the scraper resource pointed at it."""

from __future__ import annotations

import pytest

from impressox_pipelines.standins.server import StandInServer
from impressox_pipelines.standins.x import StandInAccount, create_app
from impressox_pipelines.x.accounts import AccountPool, load_accounts
from tests.helpers.x import GOOD, write_accounts


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
