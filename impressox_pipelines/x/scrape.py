"""The scrape loop shared by both backends: account rotation, status handling and pagination.

A backend (`browser` or `api`) turns a `PageRequest` plus an account `Lease` into an iterator of
`Page`s — the GraphQL responses as received. This module decides what each page means:

- 200 → parsed; tweets and the raw body go to the caller's `on_page`; pagination continues.
- 429 → the account is locked for the operation until `x-rate-limit-reset`; the next account resumes
  from the last good cursor.
- 401, or 403 without a known code → the session cookie is expired or rejected: account marked `expired`.
- 403 with X error code 64 → `suspended`; 326 → `locked`.
- other statuses, unreadable bodies, proxy refusals → counted reasons; nothing parsed so far is lost.

Pagination ends when the Bottom cursor is missing, repeats, or a page brings no new tweet ids.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from impressox_pipelines.x.accounts import AccountPool, Lease
from impressox_pipelines.x.parser import ParseResult, parse_body

SUSPENDED_CODE = 64  # "Your account is suspended and is not permitted to access this feature."
LOCKED_CODES = (326,)  # "To protect our users from spam… your account has been locked."


class ProxyFailure(Exception):
    """The account's proxy refused or dropped the connection (the message names no credentials)."""


class BackendUnavailable(Exception):
    """X (or its stand-in) could not be reached at all, or the browser could not start."""


@dataclass(frozen=True)
class PageRequest:
    """What to scrape: a GraphQL operation and its subject (search query or screen name)."""

    operation: str  # "SearchTimeline" | "UserTweets" | …
    raw_query: str | None = None  # SearchTimeline
    screen_name: str | None = None  # profile timelines
    cursor: str | None = None  # resume point (Bottom cursor of the last stored page)


@dataclass
class Page:
    """One GraphQL response as the backend received it. `body` is None when it could not be read.

    The consumer sets `next_cursor` before asking for the next page; the `api` backend requests that
    cursor, the `browser` backend scrolls (the page script follows the cursor itself).
    """

    operation: str
    url: str
    status: int
    body: bytes | None
    headers: dict[str, str]
    account: str
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    read_error: str | None = None
    next_cursor: str | None = None


class Backend(Protocol):
    name: str

    def pages(self, lease: Lease, request: PageRequest) -> Iterator[Page]: ...

    def close(self) -> None: ...


@dataclass
class ScrapeOutcome:
    """The result of scraping one request to its end (or as far as the accounts allowed)."""

    request: PageRequest
    pages: int = 0
    tweets: int = 0
    duplicates: int = 0  # tweet records already seen on an earlier page of this request
    parse_failures: int = 0
    reasons: Counter = field(default_factory=Counter)  # what went wrong or was skipped, counted
    complete: bool = False
    stopped: str | None = None  # why the request ended
    last_cursor: str | None = None


def rate_limit_reset(headers: dict[str, str]) -> datetime | None:
    """`x-rate-limit-reset` (epoch seconds) as an aware UTC datetime, or None when absent/invalid."""
    try:
        return datetime.fromtimestamp(int(headers.get("x-rate-limit-reset", "")), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _error_codes(body: bytes | None) -> list[int]:
    try:
        errors = json.loads(body or b"{}").get("errors") or []
        return [int(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code") is not None]
    except (ValueError, AttributeError, TypeError):
        return []


def scrape(
    request: PageRequest,
    pool: AccountPool,
    backend: Backend,
    on_page: Callable[[Page, ParseResult | None], None],
    *,
    max_pages: int = 50,
    max_attempts: int = 12,
    log: Callable[[str], None] = lambda message: None,
) -> ScrapeOutcome:
    """Scrape `request` from its cursor to the end, rotating accounts as they fail.

    `on_page(page, result)` is called for every page that has a body (result is None when the status
    was not 200), so the caller can store raw responses and tweets as they arrive. Never raises for
    account, proxy or payload trouble; `BackendUnavailable` propagates (nothing can be scraped).
    """
    outcome = ScrapeOutcome(request, last_cursor=request.cursor)
    seen_ids: set[str] = set()
    seen_cursors: set[str] = {request.cursor} if request.cursor else set()
    attempts = 0
    while outcome.stopped is None:
        attempts += 1
        if attempts > max_attempts:
            outcome.stopped = f"gave up after {max_attempts} account attempts"
            break
        lease = pool.acquire(request.operation)
        if lease is None:
            unlock = pool.next_unlock(request.operation)
            outcome.stopped = "no usable account" + (f" until {unlock.isoformat()}" if unlock else "")
            outcome.reasons["no_usable_account"] += 1
            break
        current = replace(request, cursor=outcome.last_cursor)
        try:
            _run_lease(current, lease, pool, backend, on_page, outcome, seen_ids, seen_cursors, max_pages, log)
        except ProxyFailure as exc:
            outcome.reasons["proxy_failed"] += 1
            kept = pool.proxy_failed(lease, str(exc)[:200])
            log(f"account {lease.account.username}: proxy failed ({exc}); "
                + ("rotating to its next proxy" if kept else "all its proxies failed, account cooled down"))
    return outcome


def _run_lease(request, lease, pool, backend, on_page, outcome, seen_ids, seen_cursors, max_pages, log) -> None:
    """Consume pages with one account until the request ends (sets `outcome.stopped`) or the account
    must be rotated (returns with `outcome.stopped` still None)."""
    name = lease.account.username
    pages = backend.pages(lease, request)
    try:
        for page in pages:
            if page.body is None:
                outcome.reasons["unreadable_body"] += 1
                log(f"{page.operation} response from {name} could not be read ({page.read_error}); skipped")
                continue
            if page.status == 429:
                until = pool.rate_limited(lease, rate_limit_reset(page.headers))
                outcome.reasons["rate_limited"] += 1
                on_page(page, None)
                log(f"account {name} rate-limited for {request.operation} until {until.isoformat()}; rotating")
                return
            if page.status in (401, 403):
                codes = _error_codes(page.body)
                if SUSPENDED_CODE in codes:
                    status, reason = "suspended", "account suspended (X error 64)"
                elif any(code in LOCKED_CODES for code in codes):
                    status, reason = "locked", f"account locked (X error {codes[0]})"
                else:
                    status, reason = "expired", f"session rejected (HTTP {page.status}); refresh its cookies"
                pool.mark(lease, status, reason)
                outcome.reasons[f"account_{status}"] += 1
                on_page(page, None)
                log(f"account {name} marked {status}: {reason}; rotating")
                return
            if page.status != 200:
                outcome.reasons[f"http_{page.status}"] += 1
                on_page(page, None)
                outcome.stopped = f"HTTP {page.status} from X"
                return
            pool.succeeded(lease)
            result = parse_body(page.body, page.operation, scraped_at=page.fetched_at)
            on_page(page, result)
            outcome.pages += 1
            outcome.parse_failures += result.failure_count
            for reason, count in result.skipped.items():
                outcome.reasons[f"skipped_{reason}"] += count
            if result.failure:
                outcome.reasons[result.failure.split(":", 1)[0]] += 1
            new_ids = {t.id for t in result.tweets} - seen_ids
            outcome.duplicates += len(result.tweets) - len(new_ids)
            outcome.tweets += len(new_ids)
            seen_ids |= new_ids
            cursor = result.bottom_cursor
            if result.failure and not result.tweets:
                outcome.stopped = f"unusable response: {result.failure}"
            elif not new_ids:
                outcome.stopped = "page brought no new tweets"
                outcome.complete = True
            elif not cursor or cursor in seen_cursors:
                outcome.stopped = "no further cursor" if not cursor else "cursor repeated"
                outcome.complete = True
            elif outcome.pages >= max_pages:
                outcome.stopped = f"reached max_pages={max_pages}"
                outcome.complete = True
            if outcome.stopped:
                return
            seen_cursors.add(cursor)
            outcome.last_cursor = cursor
            page.next_cursor = cursor
        # The backend ran dry although the last page promised more (browser idle timeout): not complete,
        # so the saved cursor lets the next run resume.
        outcome.stopped = "no further response" if outcome.pages else "no GraphQL response was captured"
        outcome.reasons["no_response"] += 1
    finally:
        pages.close()
