"""The scrape loop shared by both backends: account rotation, status handling and pagination.

A backend (`browser` or `api`) turns a `PageRequest` plus an account `Lease` into an iterator of
`Page`s — the GraphQL responses as received. This module decides what each page means, the way
twscrape's `queue_client.py` reads x.com's answers:

- 200 → parsed; tweets and the raw body go to the caller's `on_page`; pagination continues. When its
  `x-rate-limit-remaining` is 0, the account is locked for the operation until `x-rate-limit-reset`
  before the next call, and the next account resumes from the cursor.
- 429, or X error 88 with no requests remaining → locked until `x-rate-limit-reset`, next account.
- X error 88 while requests remain → the account is treated as banned: marked `locked`.
- X error 32 (bad authentication), 401, or 403 without a known code → `expired`; 64 → `suspended`;
  326 → `locked`.
- X error 131 (X's internal dependency error) → the request stops; no account is blamed.
- 404 (which the `api` backend retries once with fresh query ids and transaction keys) → the request
  stops with `graphql_404_after_refresh`; no account is blamed, since every account would get the same.
- 400 (retried once after adding the features X names) → the request stops; the reason names the
  operation and X's message (the features).
- a transaction-id failure (`TransactionIdError`) → counted on the run and on the account, which
  cools down for 15 minutes; a page that is not a timeline (`NotATimeline`, the browser's login wall,
  error page, locked-account page, empty timeline) → counted likewise, the account marked when the
  page says so.
- other statuses, unreadable bodies, proxy refusals → counted reasons; nothing parsed so far is lost.

Pagination ends when the Bottom cursor is missing, repeats, or a page brings no new tweet ids.
Promoted tweets are stored but do not count as progress (`count_promoted=True` changes that), so a page
of only promoted tweets ends pagination.
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
from impressox_pipelines.x.xclid import TransactionIdError

RATE_LIMIT_CODE = 88  # "Rate limit exceeded."
BAD_AUTH_CODE = 32  # "Could not authenticate you."
SUSPENDED_CODE = 64  # "Your account is suspended and is not permitted to access this feature."
LOCKED_CODES = (326,)  # "To protect our users from spam… your account has been locked."
DEPENDENCY_CODE = 131  # "Dependency: Internal error." (X's side)
ACCOUNT_ERROR_COOLDOWN_S = 900.0  # twscrape's wait after an account-level transaction-id failure


class ProxyFailure(Exception):
    """The account's proxy refused or dropped the connection (the message names no credentials)."""


class BackendUnavailable(Exception):
    """X (or its stand-in) could not be reached at all, or the browser could not start."""


class NotATimeline(Exception):
    """The page opened is not a timeline. `kind` is `login_wall`, `error_page` ("Something went wrong"),
    `account_locked` or `empty_timeline`; the message says what the page showed."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


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
    retries: list[str] = field(default_factory=list)  # what the backend renewed before this answer
    query_id: str | None = None


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


def _errors(body: bytes | None) -> list[tuple[int, str]]:
    """X's `errors[]` as (code, message); empty when the body is not JSON or has none."""
    try:
        errors = json.loads(body or b"{}").get("errors") or []
        return [(_int(e.get("code")), str(e.get("message") or "")[:200]) for e in errors if isinstance(e, dict)]
    except (ValueError, AttributeError, TypeError):
        return []


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1


def _remaining(headers: dict[str, str]) -> int | None:
    try:
        return int(headers.get("x-rate-limit-remaining", ""))
    except (TypeError, ValueError):
        return None


def scrape(
    request: PageRequest,
    pool: AccountPool,
    backend: Backend,
    on_page: Callable[[Page, ParseResult | None], None],
    *,
    max_pages: int = 50,
    max_attempts: int = 12,
    count_promoted: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> ScrapeOutcome:
    """Scrape `request` from its cursor to the end, rotating accounts as they fail.

    `on_page(page, result)` is called for every page that has a body (result is None when the status
    was not 200), so the caller can store raw responses and tweets as they arrive. `count_promoted`
    lets promoted tweets count as pagination progress. Never raises for account, proxy or payload
    trouble; `BackendUnavailable` propagates (nothing can be scraped).
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
        name = lease.account.username
        try:
            _run_lease(current, lease, pool, backend, on_page, outcome, seen_ids, seen_cursors, max_pages,
                       count_promoted, log)
        except ProxyFailure as exc:
            outcome.reasons["proxy_failed"] += 1
            kept = pool.proxy_failed(lease, str(exc)[:200])
            log(f"account {name}: proxy failed ({exc}); "
                + ("rotating to its next proxy" if kept else "all its proxies failed, account cooled down"))
        except TransactionIdError as exc:
            reason = f"transaction_id:{exc.reason}"
            outcome.reasons[reason] += 1
            pool.failed(lease, reason, str(exc), cooldown_s=ACCOUNT_ERROR_COOLDOWN_S)
            log(f"account {name}: no x-client-transaction-id ({exc}); account cooled down, rotating")
        except NotATimeline as exc:
            reason = f"page_{exc.kind}"
            outcome.reasons[reason] += 1
            pool.failed(lease, reason, f"{exc.kind}: {exc}", cooldown_s=0.0)
            if exc.kind == "login_wall":
                pool.mark(lease, "expired", f"login wall instead of the timeline ({exc}); refresh its cookies")
            elif exc.kind == "account_locked":
                pool.mark(lease, "locked", f"locked-account page ({exc})")
            elif exc.kind == "empty_timeline":
                outcome.stopped, outcome.complete = f"empty timeline ({exc})", True
            elif outcome.reasons[reason] >= 2:  # "Something went wrong" twice: X is failing, not the account
                outcome.stopped = f"X showed an error page twice ({exc})"
            log(f"account {name}: the page is not a timeline ({exc.kind}: {exc})")
    return outcome


def _run_lease(request, lease, pool, backend, on_page, outcome, seen_ids, seen_cursors, max_pages, count_promoted,
               log) -> None:
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
            for retry in page.retries:
                outcome.reasons[retry] += 1
            result = parse_body(page.body, page.operation, scraped_at=page.fetched_at) if page.status == 200 else None
            errors = _errors(page.body) if result is None else [
                (_int(e.get("code")), str(e.get("message") or "")[:200]) for e in result.errors]
            verdict = _judge(page, request.operation, errors, outcome.reasons) if result is None or errors else None
            if verdict is not None:
                _apply(verdict, page, lease, pool, outcome, on_page, log)
                return
            pool.succeeded(lease)
            on_page(page, result)
            outcome.pages += 1
            outcome.parse_failures += result.failure_count
            for reason, count in result.skipped.items():
                outcome.reasons[f"skipped_{reason}"] += count
            if result.failure:
                outcome.reasons[result.failure.split(":", 1)[0]] += 1
            ids = {t.id for t in result.tweets}
            new_ids = ids - seen_ids
            outcome.duplicates += len(result.tweets) - len(new_ids)
            outcome.tweets += len(new_ids)
            seen_ids |= new_ids
            promoted = {t.id for t in result.tweets if t.is_promoted}
            if promoted:
                outcome.reasons["promoted"] += len(promoted & new_ids)
                if not count_promoted:
                    new_ids -= promoted | _carried_only_by(promoted, result.tweets)
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
            exhausted = _remaining(page.headers) == 0
            if exhausted:
                # X says this was the window's last request: lock before the next call, not after a 429.
                until = pool.rate_limited(lease, rate_limit_reset(page.headers))
                outcome.reasons["rate_limit_exhausted"] += 1
                log(f"account {name} used its last {request.operation} request until {until.isoformat()}")
            if outcome.stopped:
                return
            seen_cursors.add(cursor)
            outcome.last_cursor = cursor
            if exhausted:
                return  # rotate: the next account resumes from this cursor
            page.next_cursor = cursor
        # The backend ran dry although the last page promised more (browser idle timeout): not complete,
        # so the saved cursor lets the next run resume.
        outcome.stopped = "no further response" if outcome.pages else "no GraphQL response was captured"
        outcome.reasons["no_response"] += 1
    finally:
        pages.close()


def _carried_only_by(promoted: set[str], tweets: list) -> set[str]:
    """Ids of the tweets an ad retweets or quotes that no organic tweet of the page carries too."""
    def carried(kept: bool) -> set[str]:
        return {i for t in tweets if (t.id in promoted) == kept for i in (t.retweeted_id, t.quoted_id) if i}

    return carried(True) - carried(False)


@dataclass(frozen=True)
class _Verdict:
    """What a non-200 (or error-carrying) page means: `action` is "rate_limited", "mark" (with
    `status`), "retry" (a new lease, i.e. a new page load) or "stop" (the request ends, no account
    blamed)."""

    action: str
    reason: str
    message: str
    status: str | None = None


def _judge(page: Page, operation: str, errors: list[tuple[int, str]], reasons: Counter) -> _Verdict | None:
    """The verdict for a page and its X `errors` (code, message), after twscrape's
    `queue_client._check_rep`; None = use it as data. `reasons` (the request's counts so far) tells
    whether a page load was already renewed once."""
    codes = [code for code, _ in errors]
    remaining = _remaining(page.headers)
    if page.status == 429 or (RATE_LIMIT_CODE in codes and remaining == 0):
        return _Verdict("rate_limited", "rate_limited", "rate limited")
    if RATE_LIMIT_CODE in codes:
        return _Verdict("mark", "account_locked", "X error 88 while requests remain (banned?)", "locked")
    if SUSPENDED_CODE in codes:
        return _Verdict("mark", "account_suspended", "account suspended (X error 64)", "suspended")
    if any(code in LOCKED_CODES for code in codes):
        return _Verdict("mark", "account_locked", f"account locked (X error {codes[0]})", "locked")
    if BAD_AUTH_CODE in codes or page.status in (401, 403):
        why = "X error 32" if BAD_AUTH_CODE in codes else f"HTTP {page.status}"
        return _Verdict("mark", "account_expired", f"session rejected ({why}); refresh its cookies", "expired")
    if DEPENDENCY_CODE in codes and page.status != 200:
        return _Verdict("stop", "x_internal_error", f"X error 131 for {operation} (X's side)")
    if page.status in (400, 404) and not page.retries and not reasons[f"reloaded_after_{page.status}"]:
        # A backend that does not renew ids itself (the browser) gets one new page load: the web app
        # then reads the current query ids and features, as a reload of x.com would.
        return _Verdict("retry", f"reloaded_after_{page.status}", f"HTTP {page.status} for {operation}; reloading")
    if page.status == 404:
        tried = " even after refreshing its query id and transaction keys"
        return _Verdict("stop", "graphql_404_after_refresh",
                        f"X answered 404 for {operation} (query id {page.query_id}){tried}; account not blamed")
    if page.status == 400:
        message = "; ".join(m for _, m in errors) or "no message"
        return _Verdict("stop", "http_400", f"X refused {operation} (HTTP 400): {message}")
    if page.status != 200:
        return _Verdict("stop", f"http_{page.status}", f"HTTP {page.status} from X for {operation}")
    return None


def _apply(verdict: _Verdict, page: Page, lease: Lease, pool: AccountPool, outcome: ScrapeOutcome,
           on_page: Callable, log: Callable[[str], None]) -> None:
    name = lease.account.username
    outcome.reasons[verdict.reason] += 1
    on_page(page, None)
    if verdict.action == "rate_limited":
        until = pool.rate_limited(lease, rate_limit_reset(page.headers))
        log(f"account {name} rate-limited for {page.operation} until {until.isoformat()}; rotating")
    elif verdict.action == "mark":
        pool.mark(lease, verdict.status, verdict.message)
        log(f"account {name} marked {verdict.status}: {verdict.message}; rotating")
    elif verdict.action == "retry":
        log(verdict.message)  # the next lease resumes from the last cursor with a fresh page
    else:
        outcome.stopped = verdict.message
        log(verdict.message)
