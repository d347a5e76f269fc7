"""The `api` backend (the alternative Twitter scraper): httpx calls to the web app's GraphQL operations.

Same cookies as the browser (`auth_token`, `ct0`), plus the web app's bearer token and `x-csrf-token`
(= `ct0`). SearchTimeline is called with `rawQuery`; profile timelines first resolve the screen name
with UserByScreenName. Each page's `next_cursor` (set by the scrape loop) is requested next.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson

from impressox_pipelines.x.accounts import Lease
from impressox_pipelines.x.graphql import auth_headers, graphql_path, request_params, search_variables
from impressox_pipelines.x.scrape import BackendUnavailable, Page, PageRequest, ProxyFailure


class ApiBackend:
    """httpx against `base_url` (`https://x.com`, or the stand-in).

    Raises (from `pages`):
        ProxyFailure: the account's proxy refused or dropped the connection.
        BackendUnavailable: the site could not be reached directly.
    """

    name = "api"

    def __init__(self, base_url: str, *, timeout_s: float = 20.0, query_ids: dict[str, str] | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.query_ids = query_ids or {}

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
        path = graphql_path(operation, self.query_ids.get(operation))
        try:
            response = client.get(path, params=request_params(variables))
        except (httpx.ProxyError, httpx.ConnectError, httpx.RemoteProtocolError) as exc:
            if lease.proxy:
                raise ProxyFailure(f"{type(exc).__name__}: {str(exc)[:150]}") from None
            raise BackendUnavailable(f"{self.base_url} unreachable: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            raise BackendUnavailable(f"{self.base_url} timed out: {type(exc).__name__}") from None
        return Page(operation=operation, url=str(response.url), status=response.status_code,
                    body=response.content, headers=dict(response.headers), account=lease.account.username)

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
