"""Both backends against the X stand-in over real HTTP: Chromium (Playwright) and httpx.

The stand-in checks cookies and the csrf header and answers 401/403/429 like x.com, so login
failure, rotation and locking are exercised for real.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import date

import pytest

from impressox_pipelines.standins.x import StandInAccount
from impressox_pipelines.x.api import ApiBackend
from impressox_pipelines.x.browser import BrowserBackend
from impressox_pipelines.x.graphql import day_query
from impressox_pipelines.x.scrape import BackendUnavailable, Page, PageRequest, scrape
from impressox_pipelines.x.targets import ScrapeTarget
from tests.helpers.x import GOOD

DAY = date(2026, 3, 14)
QUERY = day_query("airdrop", DAY)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timeline_entry_ids(got) -> set[str]:
    ids = set()
    for page, _ in got.pages:
        for instruction in json.loads(page.body)["data"]["search_by_raw_query"]["search_timeline"]["timeline"][
                "instructions"]:
            for entry in instruction.get("entries") or []:
                if "tweet-" in entry["entryId"]:
                    ids.add(entry["entryId"].rsplit("-", 1)[1])
    return ids


class Collector:
    def __init__(self):
        self.pages: list[tuple[Page, object]] = []

    def __call__(self, page, result):
        self.pages.append((page, result))

    @property
    def tweets(self):
        return [t for _, r in self.pages if r is not None for t in r.tweets]


@pytest.fixture
def browser():
    backend = BrowserBackend("http://127.0.0.1:1", idle_timeout_s=4.0)
    yield backend
    backend.close()


def test_chromium_scrolls_through_every_page_and_captures_the_graphql_the_page_fetches(standin_factory,
                                                                                      pool_factory, browser):
    server = standin_factory()
    browser.base_url = server.url
    got = Collector()
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool_factory([GOOD]), browser, got)
    assert outcome.complete and outcome.stopped == "page brought no new tweets"
    assert outcome.pages == 3 and outcome.tweets > 20  # two pages of tweets, then an empty last page
    assert all(page.status == 200 and page.account == "e_good" for page, _ in got.pages)
    results = {t.id: t for t in got.tweets if t.id in timeline_entry_ids(got)}  # not nested originals
    assert len(results) > 20
    assert {t.created_at.date() for t in results.values()} == {DAY}  # inside since:/until:
    assert all("airdrop" in t.text.lower() for t in results.values())
    assert outcome.reasons["skipped_tombstone"] == 1
    assert server.app.state.stats["static"] == 0  # avatars, photos, videos and the web font never loaded
    browser.block_resources = False
    scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool_factory([GOOD]), browser, Collector())
    # How many images load before the scrape ends depends on timing; that any do is the point.
    assert server.app.state.stats["static"] > 0


def test_rotation_past_expired_suspended_and_rate_limited_accounts_through_chromium(standin_factory, pool_factory,
                                                                                   browser):
    accounts = [StandInAccount("a_expired", "tok-expired", "ct0-x", state="expired"),
                StandInAccount("b_suspended", "tok-susp", "ct0-s", state="suspended"),
                StandInAccount("c_limited", "tok-lim", "ct0-l", rate_limit=0),
                GOOD]
    server = standin_factory(accounts)
    browser.base_url = server.url
    pool = pool_factory(accounts)
    logs: list[str] = []
    got = Collector()
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, browser, got, log=logs.append)
    assert outcome.complete and outcome.tweets > 20
    # x.com shows an expired session its login wall: no GraphQL call is made at all.
    assert (outcome.reasons["page_login_wall"], outcome.reasons["account_suspended"],
            outcome.reasons["rate_limited"]) == (1, 1, 1)
    state = {d["_id"]: d for d in pool.state()}
    assert state["a_expired"]["status"] == "expired" and state["b_suspended"]["status"] == "suspended"
    assert state["c_limited"]["status"] == "active" and state["c_limited"]["locks"]["SearchTimeline"] is not None
    rate_limited = next(p for p, _ in got.pages if p.status == 429)
    assert int(rate_limited.headers["x-rate-limit-remaining"]) == 0
    assert state["c_limited"]["locks"]["SearchTimeline"].timestamp() == int(rate_limited.headers["x-rate-limit-reset"])
    assert {p.account for p, r in got.pages if r is not None} == {"e_good"}
    assert not any("tok-" in line for line in logs)  # cookies never reach the logs


def test_a_refusing_proxy_rotates_to_the_next_account_through_chromium(standin_factory, pool_factory, browser):
    dead = StandInAccount("a_proxied", "tok-p", "ct0-p")
    server = standin_factory([dead, GOOD])
    browser.base_url = server.url
    pool = pool_factory([dead, GOOD], proxies={"a_proxied": [f"http://127.0.0.1:{closed_port()}"]})
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, browser, Collector())
    assert outcome.reasons["proxy_failed"] == 1 and outcome.complete
    assert pool.acquire("SearchTimeline").account.username == "e_good"  # the proxied one is cooling down


def test_resuming_from_a_saved_cursor_skips_the_pages_already_stored(standin_factory, pool_factory, browser):
    server = standin_factory()
    browser.base_url = server.url
    pool = pool_factory([GOOD])
    first = Collector()
    scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, ApiBackend(server.url), first)
    page_two_cursor = first.pages[0][1].bottom_cursor
    resumed = Collector()
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY, cursor=page_two_cursor), pool, browser, resumed)
    first_page_ids = {t.id for t in first.pages[0][1].tweets}
    assert outcome.complete and resumed.tweets
    assert not first_page_ids & {t.id for t in resumed.tweets}
    assert {t.id for t in resumed.tweets} == {t.id for _, r in first.pages[1:] for t in r.tweets}


def test_profile_page_captures_user_tweets_with_the_pinned_tweet(standin_factory, pool_factory, browser):
    server = standin_factory()
    browser.base_url = server.url
    got = Collector()
    outcome = scrape(PageRequest("UserTweets", screen_name="NovaChainHQ"), pool_factory([GOOD]), browser, got,
                     max_pages=2)
    assert outcome.pages == 2 and outcome.stopped == "reached max_pages=2"
    assert sum(t.is_pinned for t in got.tweets) == 1
    assert {t.author_handle for t in got.tweets if not t.retweeted_id and not t.quoted_id} >= {"NovaChainHQ"}


def test_api_backend_handles_the_same_statuses(standin_factory, pool_factory):
    banned = StandInAccount("a_banned", "tok-banned", "ct0-b", state="suspended")
    locked = StandInAccount("b_locked", "tok-locked", "ct0-l", state="locked")
    proxied = StandInAccount("c_proxied", "tok-p", "ct0-p")
    server = standin_factory([banned, locked, proxied, GOOD])
    pool = pool_factory([banned, locked, proxied, GOOD],
                        proxies={"c_proxied": [f"http://127.0.0.1:{closed_port()}"]})
    got = Collector()
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, ApiBackend(server.url), got)
    assert outcome.complete and outcome.tweets > 20
    assert (outcome.reasons["account_suspended"], outcome.reasons["account_locked"],
            outcome.reasons["proxy_failed"]) == (1, 1, 1)
    assert {d["_id"]: d["status"] for d in pool.state()} == {"a_banned": "suspended", "b_locked": "locked",
                                                            "c_proxied": "active", "e_good": "active"}


def test_when_every_account_is_rate_limited_the_scrape_stops_with_the_unlock_time(standin_factory, pool_factory):
    limited = StandInAccount("limited", "tok-l", "ct0-l", rate_limit=1)
    server = standin_factory([limited])
    pool = pool_factory([limited])
    got = Collector()
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, ApiBackend(server.url), got)
    assert not outcome.complete and outcome.pages == 1
    assert outcome.stopped.startswith("no usable account until ")
    assert outcome.last_cursor == got.pages[0][1].bottom_cursor  # where the next run resumes


def test_unreachable_site_is_reported(pool_factory):
    with pytest.raises(BackendUnavailable):
        scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool_factory([GOOD]),
               ApiBackend(f"http://127.0.0.1:{closed_port()}"), Collector())


class ScriptedBackend:
    """Replays a fixed list of pages: the one way to produce a response whose body could not be read."""

    name = "scripted"

    def __init__(self, pages: list[Page]):
        self._pages = pages

    def pages(self, lease, request) -> Iterator[Page]:
        yield from self._pages

    def close(self) -> None:
        pass


def test_unreadable_bodies_are_logged_and_skipped(pool_factory, standin_factory):
    server = standin_factory()
    pool = pool_factory([GOOD])
    good = next(ApiBackend(server.url).pages(pool.acquire("SearchTimeline"), PageRequest("SearchTimeline",
                                                                                         raw_query=QUERY)))
    assert good.status == 200
    unreadable = Page("SearchTimeline", good.url, 200, None, {}, "e_good",
                      read_error="Response body is unavailable for redirect responses")
    logs: list[str] = []
    got = Collector()
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, ScriptedBackend([unreadable, good]), got,
                     log=logs.append)
    assert outcome.reasons["unreadable_body"] == 1 and outcome.pages == 1 and outcome.tweets > 0
    assert any("could not be read" in line for line in logs)


def test_targets_turn_into_day_bounded_search_queries():
    assert ScrapeTarget.parse("@arbitrum").day_query(DAY) == "from:arbitrum since:2026-03-14 until:2026-03-15"
    assert ScrapeTarget.parse(" airdrop claim ").day_query(DAY) == "airdrop claim since:2026-03-14 until:2026-03-15"
    with pytest.raises(ValueError):
        ScrapeTarget.parse("  ")


def test_replay_mode_wraps_real_post_texts_and_serves_real_captures(pool_factory, shared_fixtures):
    from impressox_pipelines.standins.server import StandInServer
    from impressox_pipelines.standins.x import create_app

    posts = [json.loads(line)["text"] for line in
             (shared_fixtures / "janitr_x_posts" / "sample.jsonl").read_text().splitlines() if line.strip()]
    with StandInServer(create_app(shared_fixtures, accounts=[GOOD])) as server:
        pool = pool_factory([GOOD])
        got = Collector()
        outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, ApiBackend(server.url), got)
        assert outcome.complete and outcome.tweets >= 25
        assert all(t.created_at.date() == DAY for t in got.tweets)
        assert all(t.text.split(" https://t.co/")[0] in posts for t in got.tweets)
        assert all("airdrop" in t.text.lower() for t in got.tweets)
        profile = Collector()
        scrape(PageRequest("UserTweets", screen_name="XDevelopers"), pool, ApiBackend(server.url), profile)
        assert len(profile.pages[0][1].tweets) == 41  # raw_user_tweets.json, replayed verbatim
