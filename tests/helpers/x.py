"""X test helpers: the stand-in's good account and accounts files in the format `x.accounts` reads."""

from __future__ import annotations

import json
from pathlib import Path

from impressox_pipelines.standins.x import StandInAccount

GOOD = StandInAccount("e_good", "tok-good", "ct0-good")


def write_accounts(path: Path, accounts: list[StandInAccount], proxies: dict[str, list[str]] | None = None) -> Path:
    entries = [{"username": a.username, "auth_token": a.auth_token, "ct0": a.ct0,
                **({"proxies": proxies[a.username]} if proxies and a.username in proxies else {})}
               for a in accounts]
    path.write_text(json.dumps(entries))
    return path
