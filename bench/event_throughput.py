"""Backend events end to end under `dagster dev` with its daemon, through one restart (issue 18's figure).

10,000 events of mixed types (preferences, scrape targets, rules), 1% poison of seven kinds, are
published to the events stream: half at once, the other half once the first batch is applied, followed
at once by a `dagster dev` restart (SIGTERM, then start). Measured from the first publish to the last
valid event applied, at the project's default settings (sensor interval, batch size, redo delay).
Prints one JSON line: events applied per second end to end, lost, applied twice, poison dead-lettered.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from impressox_pipelines.resources.mongo import MongoResource  # noqa: E402
from impressox_pipelines.resources.redis import RedisResource  # noqa: E402
from impressox_pipelines.standins.launcher import running_standins  # noqa: E402
from tests.e2e.event_flow import applied_count, outcome, publish  # noqa: E402
from tests.e2e.harness import local_deployment
from tests.helpers.waiting import wait_for  # noqa: E402

EVENTS = 10_000
TARGET = "≥ 50 events/s applied end to end through one restart; 0 lost, 0 applied twice, all poison dead-lettered"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, running_standins(None, set_environ=False) as stand_ins, \
            local_deployment(Path(tmp), stand_ins) as deployment:
        data_dir = deployment.env["IMPRESSOX_DATA_DIR"]
        redis, mongo = RedisResource(data_dir=data_dir), MongoResource(data_dir=data_dir)
        db = mongo.get_database()
        started = time.monotonic()
        published = publish(redis.get_bytes_client(), 0, EVENTS // 2, "bench")
        wait_for(lambda: applied_count(db) > 0, timeout_s=600, what="the first applied batch", interval_s=0.5)
        first_applied_s = time.monotonic() - started
        publish(redis.get_bytes_client(), EVENTS // 2, EVENTS - EVENTS // 2, "bench", published=published)
        restart_started = time.monotonic()
        applied_at_restart = applied_count(db)
        deployment.dev.restart()
        restart_s = time.monotonic() - restart_started
        wait_for(lambda: applied_count(db) >= len(published.valid), timeout_s=3000,
                 what="every valid event applied", interval_s=0.5)
        elapsed = time.monotonic() - started
        result = outcome(db, redis.get_client(), published)
        redis.close()
        mongo.close()
    print(json.dumps({
        "benchmark": "event_throughput",
        "events": EVENTS, "valid": len(published.valid), "poison": len(published.poison),
        "events_applied_per_s": round(result["applied"] / elapsed, 1),
        "seconds_end_to_end": round(elapsed, 1), "first_batch_applied_s": round(first_applied_s, 1),
        "applied_at_restart": applied_at_restart, "restart_s": round(restart_s, 1),
        **result,
        "target": TARGET,
    }))


if __name__ == "__main__":
    main()
