"""The shared resources: embedded defaults work, production mode refuses them, errors hide secrets."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from pymongo import IndexModel
from pymongo.errors import DuplicateKeyError

from impressox_pipelines.connections.errors import ResourceSetupError, describe_endpoint
from impressox_pipelines.resources import build_resources
from impressox_pipelines.resources.chroma import ChromaResource
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from impressox_pipelines.settings import ConfigurationError
from tests.helpers.processes import alive
from tests.helpers.waiting import wait_for


def test_embedded_redis_is_a_real_server(redis_resource):
    client = redis_resource.get_client()
    client.xadd("s", {"a": "1"})
    assert client.xlen("s") == 1
    assert client.info("server")["redis_version"].startswith(("6.", "7."))


def test_embedded_mongo_enforces_unique_indexes(mongo):
    coll = mongo.collection("things", [IndexModel([("key", 1)], unique=True)])
    coll.insert_one({"key": "a"})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"key": "a"})
    # create_indexes again is idempotent
    mongo.collection("things", [IndexModel([("key", 1)], unique=True)])
    assert coll.count_documents({}) == 1


def test_embedded_chroma_persists(chroma, data_dir):
    coll = chroma.get_collection("demo")
    coll.upsert(ids=["a"], embeddings=[[0.1, 0.2, 0.3]], documents=["x"])
    again = ChromaResource(data_dir=str(data_dir)).get_collection("demo")
    assert again.get(ids=["a"])["documents"] == ["x"]


def test_prod_mode_names_every_missing_variable(monkeypatch):
    monkeypatch.setenv("IMPRESSOX_ENV", "prod")
    monkeypatch.setenv("IMPRESSOX_REDIS_URL", "redis://127.0.0.1:1")
    with pytest.raises(ConfigurationError) as err:
        build_resources()
    message = str(err.value)
    for name in ("IMPRESSOX_MONGODB_URI", "IMPRESSOX_CHROMA_URL", "IMPRESSOX_TELEGRAM_BOT_TOKEN"):
        assert name in message
    assert "IMPRESSOX_REDIS_URL" not in message


def test_set_variables_are_passed_as_envvar_not_value(monkeypatch):
    monkeypatch.setenv("IMPRESSOX_REDIS_URL", "redis://:hunter2@127.0.0.1:6390/0")
    resources = build_resources()
    # The resource holds an EnvVar reference; the secret value is not in its config.
    assert "hunter2" not in repr(resources["redis"].url)
    assert "IMPRESSOX_REDIS_URL" in repr(resources["redis"].url)


@pytest.mark.parametrize(
    "resource,variable",
    [
        (RedisResource(url="redis://:s3cret-pass@127.0.0.1:1/0", socket_timeout_s=1), "IMPRESSOX_REDIS_URL"),
        (MongoResource(uri="mongodb://admin:s3cret-pass@127.0.0.1:1/?x=1", server_selection_timeout_ms=300),
         "IMPRESSOX_MONGODB_URI"),
        (ChromaResource(url="http://127.0.0.1:1"), "IMPRESSOX_CHROMA_URL"),
    ],
)
def test_unreachable_server_names_variable_and_host_not_secret(resource, variable):
    with pytest.raises(ResourceSetupError) as err:
        resource.setup_for_execution(None)
    message = str(err.value)
    assert variable in message
    assert "127.0.0.1:1" in message
    assert "s3cret-pass" not in message


def test_bad_telegram_token_names_variable_not_token():
    import asyncio

    resource = TelegramResource(bot_token="999:not-a-real-token", base_url="http://127.0.0.1:1/bot",
                                connect_timeout_s=1)
    with pytest.raises(ResourceSetupError) as err:
        asyncio.run(resource.check())
    assert "IMPRESSOX_TELEGRAM_BOT_TOKEN" in str(err.value)
    assert "not-a-real-token" not in str(err.value)


def test_describe_endpoint_drops_credentials():
    assert describe_endpoint("mongodb+srv://u:p@cluster0.example.net/db?tls=true") == (
        "mongodb+srv://cluster0.example.net/db"
    )


def _write_many(store_dir: str, worker: int, count: int) -> None:
    resource = MongoResource(data_dir=store_dir)
    coll = resource.collection("shared", [IndexModel([("key", 1)], unique=True)])
    for i in range(count):
        coll.update_one({"key": f"{worker}-{i}"}, {"$set": {"worker": worker}}, upsert=True)
    resource.close()


def _push_many(store_dir: str, worker: int, count: int) -> None:
    resource = RedisResource(data_dir=store_dir)
    client = resource.get_client()
    for i in range(count):
        client.rpush("shared", f"{worker}-{i}")
    resource.close()


def _set_and_exit_without_close(store_dir: str, pid_file: str) -> None:
    resource = RedisResource(data_dir=store_dir)
    resource.get_client().set("left", "behind?")
    Path(pid_file).write_text(str(resource.connection.embedded_server_pid))  # the server this process started


def test_a_process_that_never_closes_its_client_still_stops_the_embedded_server(data_dir: Path):
    ctx = multiprocessing.get_context("spawn")
    pid_file = data_dir / "server.pid"
    proc = ctx.Process(target=_set_and_exit_without_close, args=(str(data_dir), str(pid_file)))
    proc.start()
    proc.join(120)
    assert proc.exitcode == 0
    pid = int(pid_file.read_text())
    wait_for(lambda: not alive(pid), 10, f"embedded redis-server {pid} to stop after the process that started it")
    resource = RedisResource(data_dir=str(data_dir))
    assert resource.get_client().get("left") == "behind?"  # stopped with a save, not killed
    resource.close()


@pytest.mark.parametrize("writer", [_write_many, _push_many], ids=["mongo", "redis"])
def test_embedded_stores_survive_two_processes(writer, data_dir: Path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=writer, args=(str(data_dir), w, 200)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    if writer is _write_many:
        assert MongoResource(data_dir=str(data_dir)).collection("shared").count_documents({}) == 400
    else:
        resource = RedisResource(data_dir=str(data_dir))
        assert resource.get_client().llen("shared") == 400
        resource.close()
