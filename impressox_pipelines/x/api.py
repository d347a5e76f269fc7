"""The `api` backend (the alternative Twitter scraper): httpx calls to the web app's GraphQL operations.

Same cookies as the browser (`auth_token`, `ct0`), plus the web app's bearer token and `x-csrf-token`
(= `ct0`). SearchTimeline is called with `rawQuery`; profile timelines first resolve the screen name
with UserByScreenName. Each page's `next_cursor` (set by the scrape loop) is requested next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from impressox_pipelines.x.accounts import Lease
from impressox_pipelines.x.cache import MemoryCache
from impressox_pipelines.x.graphql import auth_headers, graphql_path, request_params, search_variables
from impressox_pipelines.x.operations import Operations, missing_features
from impressox_pipelines.x.scrape import BackendUnavailable, Page, PageRequest, ProxyFailure
from impressox_pipelines.x.xclid import TWIMG_ASSETS, TransactionIdError, TransactionIds


class ApiBackend:
    """httpx against `base_url` (`https://x.com`, or the stand-in).

    Every GraphQL request carries an `x-client-transaction-id` (`x.xclid`) and the operation's current
    query id and features (`x.operations`, discovered from the main bundle on first use). A 404 is
    retried once after fetching fresh transaction documents and query ids; a 400 naming missing
    features once after adding them as false. `Page.retries` says what was done; the scrape loop
    counts it.

    Args:
        base_url: the site's origin.
        cache: a redis-py client shared by every run (default: a process-local `MemoryCache`).
        assets_url: where the page's abs.twimg.com scripts are fetched from (default: abs.twimg.com for
            x.com, the site itself for anything else, i.e. a stand-in).
        query_ids, features: configured values replacing the shipped fallback.
        xclid_ttl_s, operations_ttl_s: cache lifetimes, seconds.

    Raises (from `pages`):
        ProxyFailure: the account's proxy refused or dropped the connection.
        BackendUnavailable: the site could not be reached directly.
        TransactionIdError: the account's home page or on-demand script could not be fetched or read.
    """

    name = "api"

    def __init__(self, base_url: str, *, timeout_s: float = 20.0, cache: Any = None, assets_url: str | None = None,
                 query_ids: dict[str, str] | None = None, features: dict[str, bool] | None = None,
                 xclid_ttl_s: int = 3600, operations_ttl_s: int = 6 * 3600,
                 log: Callable[[str], None] = lambda message: None):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        cache = cache if cache is not None else MemoryCache()
        if assets_url is None:
            assets_url = TWIMG_ASSETS if urlsplit(self.base_url).hostname in ("x.com", "twitter.com") else self.base_url
        self.xclid = TransactionIds(cache, assets_url=assets_url, ttl_s=xclid_ttl_s)
        self.operations = Operations(cache, query_ids=query_ids, features=features, assets_url=assets_url,
                                     ttl_s=operations_ttl_s, log=log)
        self._discovery_tried = False

    def pages(self, lease: Lease, request: PageRequest) -> Iterator[Page]:
        cookies = {"auth_token": lease.account.auth_token, "ct0": lease.account.ct0}
        with httpx.Client(base_url=self.base_url, cookies=cookies, headers=auth_headers(lease.account.ct0),
                          proxy=lease.proxy, timeout=self.timeout_s) as client:
            if request.operation == "SearchTimeline":
                base_variables = search_variables(request.raw_query or "")
            else:
                user_page = self._get(client, lease, "UserByScreenName",
                                      {"screen_name": request.screen_name})
                user_id = _user_id(user_page)
                if user_id is None:
                    yield user_page
                    return
                base_variables = {"userId": user_id, "count": 20, "includePromotedContent": True}
            cursor = request.cursor
            while True:
                variables = {**base_variables, **({"cursor": cursor} if cursor else {})}
                page = self._get(client, lease, request.operation, variables)
                yield page
                if not page.next_cursor:
                    return
                cursor = page.next_cursor

    def _get(self, client: httpx.Client, lease: Lease, operation: str, variables: dict) -> Page:
        try:
            return self._get_once_renewed(client, lease, operation, variables)
        except TransactionIdError as exc:
            if exc.reason.endswith("_unreachable"):  # the connection failed, not the documents
                if lease.proxy:
                    raise ProxyFailure(str(exc)) from None
                raise BackendUnavailable(str(exc)) from None
            raise

    def _get_once_renewed(self, client: httpx.Client, lease: Lease, operation: str, variables: dict) -> Page:
        retries: list[str] = []
        fresh, home = False, None
        if not self._discovery_tried and not self.operations.known():
            self._discovery_tried = True
            home = self.xclid.home_page(client)
            self.operations.refresh(client, home)
        while True:
            current = self.operations.get(operation)
            path = graphql_path(operation, current.query_id)
            header = self.xclid.header(client, lease.account.username, "GET", path, fresh=fresh, home=home)
            response = self._send(client, lease, path, request_params(variables, current.features),
                                  {"x-client-transaction-id": header})
            if response.status_code == 404 and "refreshed_after_404" not in retries:
                # x.com answers 404 both to a rotated query id and to a stale transaction id: renew both.
                retries.append("refreshed_after_404")
                fresh, home = True, self.xclid.home_page(client)
                self.operations.refresh(client, home)
                continue
            missing = missing_features(response.content) if response.status_code == 400 else []
            if missing and "features_added" not in retries:
                retries.append("features_added")
                self.operations.refresh(client, self.xclid.home_page(client))
                self.operations.add_missing(operation, missing)
                continue
            return Page(operation=operation, url=str(response.url), status=response.status_code,
                        body=response.content, headers=dict(response.headers), account=lease.account.username,
                        retries=retries, query_id=current.query_id)

    def _send(self, client: httpx.Client, lease: Lease, path: str, params: dict, headers: dict) -> httpx.Response:
        try:
            return client.get(path, params=params, headers=headers)
        except (httpx.ProxyError, httpx.ConnectError, httpx.RemoteProtocolError) as exc:
            if lease.proxy:
                raise ProxyFailure(f"{type(exc).__name__}: {str(exc)[:150]}") from None
            raise BackendUnavailable(f"{self.base_url} unreachable: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            raise BackendUnavailable(f"{self.base_url} timed out: {type(exc).__name__}") from None

    def close(self) -> None:
        """Nothing to release: each lease opens and closes its own client."""


def _user_id(page: Page) -> str | None:
    if page.status != 200 or not page.body:
        return None
    try:
        result = ((orjson.loads(page.body).get("data") or {}).get("user") or {}).get("result") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return result.get("rest_id")
