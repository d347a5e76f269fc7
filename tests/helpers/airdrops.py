"""Helpers for the airdrop tests: tweets as the X parser emits them, small keyword and target lists, and the
signals a detector's reasons name."""

from __future__ import annotations

from datetime import UTC, datetime

from impressox_pipelines.airdrops.keywords import KeywordSet
from impressox_pipelines.airdrops.targets import TargetAccounts
from impressox_pipelines.x.models import Tweet

DAY = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
_ids = iter(range(1_900_000_000_000_000_000, 2_000_000_000_000_000_000))


def tweet(text: str, **fields) -> Tweet:
    """A Tweet with sensible defaults (a plain, established, non-target author on 2026-02-01)."""
    defaults = dict(
        id=str(next(_ids)), author_id="42", author_handle="cryptofan", author_name="Crypto Fan",
        created_at=DAY, text=text, author_followers_count=5000,
        author_created_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    defaults.update(fields)
    return Tweet(**defaults)


KEYWORDS = KeywordSet.from_terms(["airdrop", "airdrops", "claim", "eligible", "snapshot", "空投"])
TARGETS = TargetAccounts.from_handles(["arbitrum", "JupiterExchange"])


def signals(reasons) -> set[str]:
    """The names of the signals among a detector's `reasons` that carry weight."""
    return {r.signal for r in reasons if r.weight}
