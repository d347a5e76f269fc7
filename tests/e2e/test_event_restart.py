"""Backend events keep flowing through a `dagster dev` restart: every valid event applied once, every
poison entry dead-lettered with its reason, nothing lost — with nobody redriving anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.standins.launcher import running_standins
from tests.e2e.event_flow import applied_count, outcome, publish
from tests.e2e.harness import local_deployment
from tests.helpers.waiting import wait_for


@pytest.mark.slow
def test_events_published_across_a_restart_are_each_applied_once(tmp_path: Path):
    extra = {"IMPRESSOX_EVENT_REDO_AFTER_S": "20", "IMPRESSOX_EVENT_BATCH_SIZE": "100"}
    with running_standins(None, set_environ=False) as stand_ins, \
            local_deployment(tmp_path, stand_ins, extra) as deployment:
        data_dir = deployment.env["IMPRESSOX_DATA_DIR"]
        redis, mongo = RedisResource(data_dir=data_dir), MongoResource(data_dir=data_dir)
        try:
            db = mongo.get_database()
            published = publish(redis.get_bytes_client(), 0, 300, "restart", poison_every=50)
            wait_for(lambda: applied_count(db) > 0, timeout_s=240, what="the first applied batch")
            # More events, then the restart while their runs are being requested and launched.
            publish(redis.get_bytes_client(), 300, 300, "restart", poison_every=50, published=published)
            deployment.dev.restart()
            publish(redis.get_bytes_client(), 600, 100, "restart", poison_every=50, published=published)
            wait_for(lambda: applied_count(db) >= len(published.valid), timeout_s=600,
                     what=f"all {len(published.valid)} valid events applied", interval_s=2)
            result = outcome(db, redis.get_client(), published)
        finally:
            redis.close()
            mongo.close()
    assert len(published.poison) == 14
    assert result == {"applied": len(published.valid), "lost": 0, "applied_twice": 0,
                      "poison_dead_lettered": 14, "poison_missing": 0, "valid_dead_lettered": 0}
