"""Rule matching: the Redis rule index vs a naive scan over every rule, in the embedded Redis.

1,000,000 rules over 500 pairs (90% price above/below, 10% percent-change that never triggers), one
tick of 500 prices moved so that about 1,000 rules cross; the tick is `RuleIndex.evaluate` (range
queries, load the candidates, the state machine on each). The same tick at 10k and 100k rules, with
the price moves scaled so the number of triggers stays about 1,000, shows how the tick grows with the
number of rules. The naive baseline (`RuleIndex.evaluate_naive`: load every rule, step each) runs at
1M rules and must find the same triggers. Rules are loaded with pipelines (`RuleIndex.load`).

Prints one JSON line. Targets: tick < 100 ms at 1M rules, >= 100x faster than the naive scan, and
growing < 3x from 10k to 1M rules.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from impressox_pipelines.market.index import RuleIndex  # noqa: E402
from impressox_pipelines.market.rules import Direction, Kind, Observation, Rule  # noqa: E402
from impressox_pipelines.market.symbols import Pair  # noqa: E402
from impressox_pipelines.resources.redis import RedisResource  # noqa: E402

PAIRS = [Pair(f"SYM{n}", "USD") for n in range(500)]
BASE = Decimal(100)
TRIGGERS = 1_000
SCALES = (10_000, 100_000, 1_000_000)
NOW = datetime.now(UTC) + timedelta(days=1)


def rules(count: int, rng: random.Random):
    for n in range(count):
        pair = PAIRS[n % len(PAIRS)]
        if n % 10 == 9:
            yield Rule(id=f"r{n}", owner_chat_id=str(10_000 + n % 5_000), pair=pair, kind=Kind.PCT_CHANGE,
                       pct=Decimal(50), direction=Direction.EITHER, window_s=3600)
            continue
        # Pairs with an even number move up and carry "above" rules, odd ones move down with "below".
        kind = Kind.ABOVE if (n % len(PAIRS)) % 2 == 0 else Kind.BELOW
        threshold = Decimal(rng.randint(50_000_000, 150_000_000)).scaleb(-6)
        yield Rule(id=f"r{n}", owner_chat_id=str(10_000 + n % 5_000), pair=pair, kind=kind, threshold=threshold,
                   recurring=n % 3 == 0)


def tick_for(count: int) -> dict[str, Observation]:
    # Threshold rules per pair: 0.9 × count / 500, spread uniformly over 100 units: a move of `delta`
    # crosses 0.9 × count / 500 / 100 × delta of them; over 500 pairs that is TRIGGERS.
    delta = Decimal(TRIGGERS * 100 * 500) / (Decimal("0.9") * count * len(PAIRS))
    ticked = {}
    for n, pair in enumerate(PAIRS):
        price = BASE + delta if n % 2 == 0 else BASE - delta
        ticked[str(pair)] = Observation(NOW, price, BASE, {3600: (min(price, BASE), max(price, BASE))})
    return ticked


def main() -> None:
    results: dict[str, dict] = {}
    naive = None
    with tempfile.TemporaryDirectory() as folder:
        resource = RedisResource(data_dir=folder)
        client = resource.get_client()
        index = RuleIndex(client)
        for count in SCALES:
            client.flushall()
            started = time.perf_counter()
            index.load(rules(count, random.Random(count)), batch=10_000)
            load_s = time.perf_counter() - started
            ticked = tick_for(count)
            timings, triggers, candidates = [], 0, 0
            for _ in range(7):
                started = time.perf_counter()
                evaluation = index.evaluate(ticked, now=NOW)
                timings.append(time.perf_counter() - started)
                triggers, candidates = len(evaluation.triggers), evaluation.candidates
            results[str(count)] = {"tick_ms": round(statistics.median(timings) * 1000, 2), "triggers": triggers,
                                   "candidates_loaded": candidates, "load_s": round(load_s, 1),
                                   "load_rules_per_s": round(count / load_s)}
            if count == SCALES[-1]:
                started = time.perf_counter()
                baseline = index.evaluate_naive(ticked, NOW)
                naive = {"naive_ms": round((time.perf_counter() - started) * 1000), "triggers": len(baseline.triggers)}
                if sorted(t.run_key for t in baseline.triggers) != sorted(t.run_key for t in evaluation.triggers):
                    raise SystemExit("the index and the naive scan disagree")
        resource.close()
    largest, smallest = results[str(SCALES[-1])], results[str(SCALES[0])]
    print(json.dumps({
        "benchmark": "rules_match",
        "rules": SCALES[-1],
        "pairs": len(PAIRS),
        "triggers": largest["triggers"],
        "tick_ms": largest["tick_ms"],
        "naive_scan_ms": naive["naive_ms"],
        "speedup_vs_naive": round(naive["naive_ms"] / largest["tick_ms"], 1),
        "growth_10k_to_1m": round(largest["tick_ms"] / smallest["tick_ms"], 2),
        "scaling": results,
        "target": "tick < 100 ms at 1M rules; >= 100x faster than the naive scan; < 3x growth from 10k to 1M",
    }))


if __name__ == "__main__":
    main()
