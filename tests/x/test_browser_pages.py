"""The browser backend names what it sees when the page is not a timeline: a login wall, a locked-account
page, "Something went wrong", an empty timeline; each a counted reason on the run and on the account.
Chromium against the X stand-in, which redirects and renders these pages as x.com does."""

from __future__ import annotations

from datetime import date

import pytest

from impressox_pipelines.standins.x import StandInAccount
from impressox_pipelines.x.browser import BrowserBackend, page_state
from impressox_pipelines.x.graphql import day_query
from impressox_pipelines.x.scrape import PageRequest, scrape
from tests.helpers.x import GOOD

QUERY = day_query("airdrop", date(2026, 3, 14))


@pytest.fixture
def browser():
    backend = BrowserBackend("http://127.0.0.1:1", idle_timeout_s=4.0)
    yield backend
    backend.close()


@pytest.mark.parametrize(("url", "text", "kind"), [
    ("https://x.com/i/flow/login?redirect_after_login=%2Fsearch", "Sign in to X\nNext", "login_wall"),
    ("https://x.com/account/access", "Your account has been locked.", "account_locked"),
    ("https://x.com/search?q=a", "Something went wrong. Try reloading.\nRetry", "error_page"),
    ("https://x.com/nobody_here", "This account doesn’t exist\nTry searching for another.", "empty_timeline"),
    ("https://x.com/search?q=zzzz", "No results for \"zzzz\"", "empty_timeline"),
    ("https://x.com/search?q=a", "Loading…", None),
])
def test_page_states_are_named_from_the_url_and_the_visible_text(url, text, kind):
    state = page_state(url, text)
    assert (state[0] if state else None) == kind


def test_login_wall_and_locked_page_are_counted_and_mark_their_accounts(standin_factory, pool_factory, browser):
    expired = StandInAccount("a_expired", "tok-expired", "ct0-x", state="expired")
    locked = StandInAccount("b_locked", "tok-locked", "ct0-l", state="locked")
    server = standin_factory([expired, locked, GOOD])
    browser.base_url = server.url
    pool = pool_factory([expired, locked, GOOD])
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, browser, lambda page, result: None)
    assert outcome.complete and outcome.tweets > 20
    assert (outcome.reasons["page_login_wall"], outcome.reasons["page_account_locked"]) == (1, 1)
    state = {d["_id"]: d for d in pool.state()}
    assert state["a_expired"]["status"] == "expired" and "login wall" in state["a_expired"]["reason"]
    assert state["a_expired"]["failures"] == {"page_login_wall": 1}
    assert state["b_locked"]["status"] == "locked" and state["b_locked"]["failures"] == {"page_account_locked": 1}
    assert server.app.state.stats["graphql"] == 3  # the walls cost no GraphQL call


def test_an_error_page_is_counted_and_stops_the_request_the_second_time(standin_factory, pool_factory, browser):
    other = StandInAccount("f_other", "tok-o", "ct0-o")
    server = standin_factory([GOOD, other])
    server.app.state.site.error_pages = True
    browser.base_url = server.url
    pool = pool_factory([GOOD, other])
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, browser, lambda page, result: None)
    assert outcome.reasons["page_error_page"] == 2 and not outcome.complete
    assert outcome.stopped.startswith("X showed an error page twice")
    assert {d["_id"]: (d["status"], d["failures"]) for d in pool.state()} == {
        "e_good": ("active", {"page_error_page": 1}), "f_other": ("active", {"page_error_page": 1})}


def test_a_profile_that_does_not_exist_is_an_empty_timeline(standin_factory, pool_factory, browser):
    server = standin_factory()
    server.app.state.site.missing_handles.add("nobody_here")
    browser.base_url = server.url
    pool = pool_factory([GOOD])
    outcome = scrape(PageRequest("UserTweets", screen_name="nobody_here"), pool, browser, lambda page, result: None)
    assert outcome.complete and outcome.pages == 0 and outcome.reasons["page_empty_timeline"] == 1
    assert "This account doesn’t exist" in outcome.stopped
    assert pool.state()[0]["status"] == "active"
