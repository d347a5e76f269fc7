"""The account pool: rotation, rate-limit locks, marking, proxy rotation; state shared through MongoDB."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from impressox_pipelines.standins.x import StandInAccount
from impressox_pipelines.x.accounts import AccountPool, AccountsFileError, load_accounts

A, B = StandInAccount("alice", "secret-token-a", "ct0-a"), StandInAccount("bob", "secret-token-b", "ct0-b")


class Clock:
    def __init__(self):
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_least_recently_used_account_is_handed_out(pool_factory):
    pool = pool_factory([A, B])
    assert [pool.acquire("SearchTimeline").account.username for _ in range(4)] == ["alice", "bob", "alice", "bob"]


def test_rate_limit_locks_one_operation_until_reset(pool_factory, mongo):
    clock = Clock()
    pool = pool_factory([A, B])
    pool.clock = clock
    lease = pool.acquire("SearchTimeline")
    pool.rate_limited(lease, clock.now + timedelta(minutes=15))
    assert {pool.acquire("SearchTimeline").account.username for _ in range(3)} == {"bob"}
    assert pool.acquire("UserTweets").account.username == "alice"  # other operations are not locked
    assert pool.next_unlock("SearchTimeline") == clock.now + timedelta(minutes=15)
    # Another process sees the same lock through MongoDB.
    other = AccountPool(mongo.get_database()["x_accounts"], list(pool.accounts.values()), clock=clock)
    assert {other.acquire("SearchTimeline").account.username for _ in range(3)} == {"bob"}
    clock.now += timedelta(minutes=16)
    assert {pool.acquire("SearchTimeline").account.username for _ in range(2)} == {"alice", "bob"}


def test_marked_accounts_are_skipped_until_reset(pool_factory):
    pool = pool_factory([A, B])
    pool.mark(pool.acquire("SearchTimeline"), "suspended", "account suspended (X error 64)")
    pool.mark(pool.acquire("SearchTimeline"), "expired", "session rejected")
    assert pool.acquire("SearchTimeline") is None
    states = {d["_id"]: (d["status"], d["reason"]) for d in pool.state()}
    assert states == {"alice": ("suspended", "account suspended (X error 64)"), "bob": ("expired", "session rejected")}
    assert pool.reset("alice") and not pool.reset("nobody")
    assert pool.acquire("SearchTimeline").account.username == "alice"
    with pytest.raises(ValueError):
        pool.mark(pool.acquire("SearchTimeline"), "banned-ish", "x")


def test_proxy_rotates_on_failure_then_cools_the_account_down(pool_factory):
    pool = pool_factory([A], proxies={"alice": ["http://127.0.0.1:9", "http://127.0.0.1:10"]})
    lease = pool.acquire("SearchTimeline")
    assert lease.proxy == "http://127.0.0.1:9"
    assert pool.proxy_failed(lease, "refused") is True
    lease = pool.acquire("SearchTimeline")
    assert lease.proxy == "http://127.0.0.1:10"
    assert pool.proxy_failed(lease, "refused") is False  # every proxy failed: locked for all operations
    assert pool.acquire("SearchTimeline") is None and pool.acquire("UserTweets") is None


def test_state_holds_no_secret(pool_factory, mongo):
    pool = pool_factory([A, B])
    pool.acquire("SearchTimeline")
    stored = json.dumps(list(mongo.get_database()["x_accounts"].find()), default=str)
    assert "secret-token" not in stored and "ct0-a" not in stored
    assert "secret-token" not in repr(pool.acquire("SearchTimeline"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ('[{"username": "a", "auth_token": "SECRET-1"', "not readable JSON"),
        ("{}", "no list of accounts"),
        ('[{"username": "a", "auth_token": "SECRET-1"}]', "entry 1 lacks ct0"),
    ],
)
def test_bad_accounts_files_are_named_without_their_content(tmp_path, content, message):
    path = tmp_path / "accounts.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(AccountsFileError, match=message) as info:
        load_accounts(path)
    assert "SECRET" not in str(info.value)
