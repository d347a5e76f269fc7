"""The X account pool: rotation, per-operation rate-limit locks, account marking and proxy rotation.

Secrets (the `auth_token` and `ct0` cookies) come from a JSON file named by an environment variable and
stay in memory; MongoDB (collection `x_accounts`, `_id` = account name) holds only the shared STATE, so
every run and process sees the same locks:

    {"_id": "alice", "status": "active" | "locked" | "suspended" | "expired",
     "reason": "…", "locks": {"SearchTimeline": <UTC datetime>, "*": <UTC datetime>},
     "proxy_index": 0, "requests": 12, "last_used": <UTC datetime>, "updated_at": <UTC datetime>,
     "failures": {"transaction_id:no_verification_key": 1, "page_error_page": 2}}

A lock keyed by an operation name is set after a 429 until X's `x-rate-limit-reset` time; the key `*`
locks every operation (used after all of an account's proxies failed). `locked`, `suspended` and
`expired` accounts are skipped until an operator resets them (`impressox x accounts --reset NAME`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, ReturnDocument

COLLECTION = "x_accounts"
ACTIVE = "active"
MARKED_STATUSES = ("locked", "suspended", "expired")
ALL_OPERATIONS = "*"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AccountsFileError(ValueError):
    """The accounts file is missing or malformed (the message never quotes its content)."""


@dataclass(frozen=True)
class Account:
    """One logged-in X session. `repr` never shows the cookies."""

    username: str
    auth_token: str = field(repr=False)
    ct0: str = field(repr=False)
    proxies: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Lease:
    """An account handed out for one operation, with the proxy to use (None = direct)."""

    account: Account
    operation: str
    proxy: str | None


def load_accounts(path: str | Path) -> list[Account]:
    """Read the accounts file.

    Format: a JSON list (or `{"accounts": [...]}`) of objects with `username`, `auth_token`, `ct0`, and
    optionally `proxy` (a URL) or `proxies` (a list of URLs, rotated on failure).

    Raises:
        AccountsFileError: naming the file and the entry number, never a cookie value.
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccountsFileError(f"accounts file {file} does not exist") from None
    except (OSError, ValueError) as exc:
        raise AccountsFileError(f"accounts file {file} is not readable JSON ({type(exc).__name__})") from None
    entries = data.get("accounts") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise AccountsFileError(f"accounts file {file} holds no list of accounts")
    accounts = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise AccountsFileError(f"accounts file {file}: entry {number} is not an object")
        missing = [k for k in ("username", "auth_token", "ct0") if not isinstance(entry.get(k), str) or not entry[k]]
        if missing:
            raise AccountsFileError(f"accounts file {file}: entry {number} lacks {', '.join(missing)}")
        proxies = entry.get("proxies") or ([entry["proxy"]] if entry.get("proxy") else [])
        accounts.append(Account(entry["username"], entry["auth_token"], entry["ct0"], tuple(proxies)))
    return accounts


class AccountPool:
    """Hands out the least recently used account that is active and not locked for the operation.

    `collection` is a pymongo `Collection` (a real server or litemongo); only operations a real MongoDB
    accepts are used, and `acquire` is one atomic `find_one_and_update`, so concurrent runs never get
    an account another run just locked.
    """

    def __init__(self, collection: Any, accounts: list[Account], clock: Callable[[], datetime] | None = None):
        self.collection = collection
        self.accounts = {a.username: a for a in accounts}
        self.clock = clock or (lambda: datetime.now(UTC))
        for account in accounts:
            collection.update_one(
                {"_id": account.username},
                {"$setOnInsert": {"status": ACTIVE, "reason": None, "locks": {}, "proxy_index": 0,
                                  "requests": 0, "last_used": _EPOCH, "updated_at": self.clock()}},
                upsert=True,
            )

    def acquire(self, operation: str) -> Lease | None:
        """The next usable account for `operation`, or None when every account is marked or locked."""
        now = self.clock()
        doc = self.collection.find_one_and_update(
            {
                "_id": {"$in": sorted(self.accounts)},
                "status": ACTIVE,
                f"locks.{operation}": {"$not": {"$gt": now}},
                f"locks.{ALL_OPERATIONS}": {"$not": {"$gt": now}},
            },
            {"$set": {"last_used": now}, "$inc": {"requests": 1}},
            sort=[("last_used", ASCENDING), ("requests", ASCENDING), ("_id", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        account = self.accounts[doc["_id"]]
        proxy = account.proxies[doc.get("proxy_index", 0) % len(account.proxies)] if account.proxies else None
        return Lease(account, operation, proxy)

    def rate_limited(self, lease: Lease, reset_at: datetime | None, default_wait_s: float = 900.0) -> datetime:
        """Lock the account for this operation until `reset_at` (X's `x-rate-limit-reset`); returns it."""
        until = reset_at or (self.clock() + timedelta(seconds=default_wait_s))
        self._update(lease.account.username, {f"locks.{lease.operation}": until})
        return until

    def mark(self, lease: Lease, status: str, reason: str) -> None:
        """Take the account out of rotation (`locked`, `suspended`, `expired`) with a reason."""
        if status not in MARKED_STATUSES:
            raise ValueError(f"unknown account status {status!r}")
        self._update(lease.account.username, {"status": status, "reason": reason})

    def proxy_failed(self, lease: Lease, reason: str, cooldown_s: float = 600.0) -> bool:
        """Rotate the account to its next proxy; returns False (and locks the account for every
        operation for `cooldown_s`) once each of its proxies has failed since its last success."""
        name = lease.account.username
        doc = self.collection.find_one_and_update(
            {"_id": name},
            {"$inc": {"proxy_index": 1, "proxy_failures": 1}, "$set": {"reason": reason}},
            return_document=ReturnDocument.AFTER,
        )
        if doc.get("proxy_failures", 0) < max(1, len(lease.account.proxies)):
            return True
        self._update(name, {f"locks.{ALL_OPERATIONS}": self.clock() + timedelta(seconds=cooldown_s),
                            "proxy_failures": 0})
        return False

    def failed(self, lease: Lease, reason: str, message: str, cooldown_s: float) -> None:
        """Count `reason` on the account (`failures.<reason>`), keep `message` as its last reason, and
        lock it for every operation for `cooldown_s` seconds (none when 0)."""
        values: dict[str, Any] = {"reason": message[:300], "updated_at": self.clock()}
        if cooldown_s > 0:
            values[f"locks.{ALL_OPERATIONS}"] = self.clock() + timedelta(seconds=cooldown_s)
        # MongoDB field names may not contain dots; reasons never need them.
        self.collection.update_one({"_id": lease.account.username},
                                   {"$set": values, "$inc": {f"failures.{reason.replace('.', '_')}": 1}})

    def succeeded(self, lease: Lease) -> None:
        """Record a good response (resets the proxy-failure streak)."""
        self._update(lease.account.username, {"proxy_failures": 0, "reason": None})

    def next_unlock(self, operation: str) -> datetime | None:
        """When the earliest lock on an active account expires (None when none is locked)."""
        times = []
        for doc in self.collection.find({"_id": {"$in": sorted(self.accounts)}, "status": ACTIVE}):
            locks = doc.get("locks") or {}
            times += [t for k, t in locks.items() if k in (operation, ALL_OPERATIONS) and t]
        return min(times) if times else None

    def reset(self, username: str) -> bool:
        """Put an account back into rotation (status active, no locks); False when unknown."""
        res = self.collection.update_one(
            {"_id": username},
            {"$set": {"status": ACTIVE, "reason": None, "locks": {}, "proxy_failures": 0,
                      "updated_at": self.clock()}},
        )
        return res.matched_count == 1

    def state(self) -> list[dict[str, Any]]:
        """Every account's state document (no secrets), by name."""
        return list(self.collection.find({"_id": {"$in": sorted(self.accounts)}}).sort("_id", ASCENDING))

    def _update(self, name: str, values: dict[str, Any]) -> None:
        self.collection.update_one({"_id": name}, {"$set": {**values, "updated_at": self.clock()}})
