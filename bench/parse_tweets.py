"""Tweet parsing throughput vs twscrape's own `parse_tweets`, on every real capture, in one run.

Usage: .venv/bin/python bench/parse_tweets.py [ROUNDS]

Inputs: every `*.json` response under `../shared/fixtures/twscrape/` (recursively; `__meta.json` and
`_inventory.json` are indexes, not responses), read into memory once. Each round times, per parser,
decoding the raw bytes AND parsing every file: ours is `parse_body(bytes)` (orjson + one walk);
twscrape's is `list(parse_tweets(json.loads(bytes)))`, as its API client does with `rep.json()`.
The two are interleaved round by round and the best round of each is kept.

Ours emits more records from the same bytes (retweeted originals are records too, with richer fields),
so besides tweets/s the same-input speed (files/s) and its ratio are printed. The floor is printed
beside them: decode-only, `orjson.loads` of the same bytes, interleaved in the same rounds. Targets:
tweets/s ratio >= 3 (vs twscrape), ours <= 1.3x decode-only.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from impressox_pipelines.x.parser import parse_body  # noqa: E402

CAPTURES = REPO.parent / "shared" / "fixtures" / "twscrape"
NOT_RESPONSES = {"__meta.json", "_inventory.json"}


def main(rounds: int = 7) -> dict:
    from twscrape.logger import set_log_level
    from twscrape.models import parse_tweets

    set_log_level("CRITICAL")
    logging.disable(logging.CRITICAL)
    files = sorted(p for p in CAPTURES.rglob("*.json") if p.name not in NOT_RESPONSES)
    if not files:
        return {"benchmark": "parse_tweets", "skipped": f"no captures under {CAPTURES}",
                "target": "ratio >= 3, ours_vs_decode_only <= 1.3"}
    bodies = [p.read_bytes() for p in files]

    def ours() -> int:
        return sum(len(parse_body(body).tweets) for body in bodies)

    def theirs() -> int:
        return sum(len(list(parse_tweets(json.loads(body)))) for body in bodies)

    def decode_only() -> int:
        return sum(1 for body in bodies if orjson.loads(body) is not None)

    best = {"ours": float("inf"), "twscrape": float("inf"), "decode_only": float("inf")}
    counts = {}
    for _ in range(rounds):
        for name, run in (("ours", ours), ("twscrape", theirs), ("decode_only", decode_only)):
            started = time.perf_counter()
            counts[name] = run()
            best[name] = min(best[name], time.perf_counter() - started)
    ours_rate = counts["ours"] / best["ours"]
    their_rate = counts["twscrape"] / best["twscrape"]
    return {
        "benchmark": "parse_tweets",
        "files": len(files),
        "megabytes": round(sum(map(len, bodies)) / 1e6, 2),
        "tweets_ours": counts["ours"],
        "tweets_twscrape": counts["twscrape"],
        "tweets_per_s_ours": round(ours_rate),
        "tweets_per_s_twscrape": round(their_rate),
        "ratio": round(ours_rate / their_rate, 2),
        "files_per_s_ours": round(len(files) / best["ours"], 1),
        "files_per_s_twscrape": round(len(files) / best["twscrape"], 1),
        "same_input_speed_ratio": round(best["twscrape"] / best["ours"], 2),
        "seconds_ours": round(best["ours"], 4),
        "seconds_decode_only": round(best["decode_only"], 4),
        "ours_vs_decode_only": round(best["ours"] / best["decode_only"], 2),
        "target": "ratio >= 3, ours_vs_decode_only <= 1.3",
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)))
