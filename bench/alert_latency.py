"""Alert latency under `dagster dev` with its daemon: from a price change served by the price stand-in to
the Telegram stand-in receiving the alert, over 20 alerts (issue 3's figure).

Each round adds one one-shot "above" rule per pair, pins the price below the line until the rule sensor has
seen it, then pins it above and times until the message arrives. The sensors run at the project's
defaults (`price_snapshot_sensor` every 60 s, `price_rule_sensor` every 10 s, which prices stale watched
pairs itself) unless `IMPRESSOX_PRICE_POLL_INTERVAL_S` / `IMPRESSOX_PRICE_RULE_INTERVAL_S` are set.
Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from impressox_pipelines.market.cache import read_latest  # noqa: E402
from impressox_pipelines.market.index import RuleIndex  # noqa: E402
from impressox_pipelines.market.rules import Kind, Rule  # noqa: E402
from impressox_pipelines.market.symbols import parse_pair  # noqa: E402
from impressox_pipelines.resources.redis import RedisResource  # noqa: E402
from impressox_pipelines.settings import load_settings  # noqa: E402
from impressox_pipelines.standins.launcher import running_standins  # noqa: E402
from tests.e2e.harness import local_deployment, messages_to
from tests.helpers.waiting import wait_for  # noqa: E402

ALERTS = 20
PAIRS = ("BTC/USD", "ETH/USD", "SOL/USD")
OWNER = "880001"


def one_round(deployment, redis, prices: str, telegram: str, round_no: int, pairs: tuple[str, ...]) -> list[float]:
    """Arm one rule per pair below its line, then cross every line at once; the seconds until each alert."""
    line = Decimal(1000 * round_no)
    below = line * Decimal("0.9")
    for pair in pairs:
        httpx.post(f"{prices}/_admin/price", json={"pair": pair, "price": str(below)})
        RuleIndex(redis.get_client()).put(Rule(
            id=f"latency-{round_no}-{pair.replace('/', '-')}", owner_chat_id=OWNER,
            pair=parse_pair(pair), kind=Kind.ABOVE, threshold=line))

    def cached_below() -> float | None:
        latest = read_latest(redis.get_client(), pairs)
        if all(pair in latest and latest[pair].price == below for pair in pairs):
            return max(latest[pair].ms for pair in pairs) / 1000
        return None

    cached_at = wait_for(cached_below, timeout_s=300, what="the prices below the lines in the cache")
    wait_for(lambda: any(t["timestamp"] > cached_at for t in deployment.sensor_ticks("price_rule_sensor")),
             timeout_s=300, what="a rule-sensor tick over them")
    before = len(messages_to(telegram, OWNER))
    started = time.monotonic()
    for pair in pairs:
        httpx.post(f"{prices}/_admin/price", json={"pair": pair, "price": str(line * Decimal("1.1"))})

    def arrived() -> list[dict] | None:
        new = messages_to(telegram, OWNER)[before:]
        return new if len(new) >= len(pairs) else None

    return [m["received_at"] - started for m in wait_for(arrived, timeout_s=600, what="this round's alerts")]


def main() -> None:
    settings = load_settings()
    poll_s, rule_s = str(settings.price_poll_interval_s), str(settings.price_rule_interval_s)
    intervals = {"IMPRESSOX_PRICE_POLL_INTERVAL_S": poll_s, "IMPRESSOX_PRICE_RULE_INTERVAL_S": rule_s}
    latencies: list[float] = []
    # ignore_cleanup_errors: the stopped daemon's last writes can race the folder's removal.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp, \
            running_standins(None, set_environ=False) as stand_ins, \
            local_deployment(Path(tmp), stand_ins, intervals) as deployment:
        prices = stand_ins["IMPRESSOX_BINANCE_URL"]
        telegram = stand_ins["IMPRESSOX_TELEGRAM_API_URL"].removesuffix("/bot")
        for sensor in ("price_snapshot_sensor", "price_rule_sensor", "redis_event_sensor"):
            deployment.cli("dagster", "sensor", "start", "-w", "workspace.yaml", sensor)
        redis = RedisResource(data_dir=deployment.env["IMPRESSOX_DATA_DIR"])
        try:
            round_no = 0
            while len(latencies) < ALERTS:
                round_no += 1
                pairs = PAIRS[: min(len(PAIRS), ALERTS - len(latencies))]
                latencies.extend(one_round(deployment, redis, prices, telegram, round_no, pairs))
        finally:
            redis.close()
    ordered = sorted(latencies)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(json.dumps({
        "benchmark": "alert_latency",
        "alerts": len(latencies),
        "p50_s": round(statistics.median(ordered), 1),
        "p95_s": round(p95, 1),
        "max_s": round(ordered[-1], 1),
        "poll_interval_s": float(poll_s),
        "rule_interval_s": float(rule_s),
        "target": "p95 <= 30 s",
    }))


if __name__ == "__main__":
    main()
