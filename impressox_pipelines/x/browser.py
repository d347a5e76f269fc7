"""The `browser` backend (the X-Scraper): headless Chromium via Playwright, logged in with cookies.

For each account lease it opens a fresh browser context holding the account's `auth_token` and `ct0`
cookies (and its proxy), opens the search page (`/search?q=…&f=live`) or the profile page (`/<handle>`),
and captures the GraphQL responses the page itself fetches (`/i/api/graphql/<queryId>/<Operation>`).
Scrolling to the bottom makes the page fetch the next page with its Bottom cursor, as x.com does.
Images, video and fonts are blocked inside Chromium before they load (`block_resources`). A response whose body
cannot be read (evicted, redirected, connection reset) is yielded with `body=None` and
`read_error`, so the scrape loop logs and skips it. To resume at a saved cursor, the first GraphQL
request of the operation is rewritten to carry it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from impressox_pipelines.x.accounts import Lease
from impressox_pipelines.x.graphql import search_page_path
from impressox_pipelines.x.parser import operation_from_url
from impressox_pipelines.x.scrape import BackendUnavailable, NotATimeline, Page, PageRequest, ProxyFailure

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
# Images, video and fonts, by X's CDN hosts and by file type. Blocked inside Chromium's network stack
# (CDP `Network.setBlockedURLs`), which costs nothing per request, unlike intercepting every request in
# Python with `page.route`.
BLOCKED_URL_PATTERNS = [
    "*://pbs.twimg.com/*", "*://video.twimg.com/*", "*://abs.twimg.com/*.woff*",
    "*.jpg*", "*.jpeg*", "*.png*", "*.gif*", "*.webp*", "*.svg*", "*.ico*",
    "*.mp4*", "*.m3u8*", "*.m4s*", "*.webm*", "*.woff*", "*.ttf*", "*.otf*",
]
SCROLL_EVERY_S = 0.4
LOOK_EVERY_S = 0.5
# What x.com shows instead of a timeline (English UI), by URL path and by visible text.
_LOGIN_PATHS = ("/i/flow/login", "/login", "/i/flow/signup")
_LOCKED_PATHS = ("/account/access",)
_ERROR_TEXTS = ("Something went wrong",)
_EMPTY_TEXTS = ("No results for", "This account doesn\u2019t exist", "This account doesn't exist",
                "hasn\u2019t posted", "hasn't posted")
_LOGIN_TEXTS = ("Sign in to X", "Log in to X")
_PROXY_ERRORS = ("ERR_PROXY", "ERR_TUNNEL_CONNECTION_FAILED", "ERR_SOCKS_CONNECTION_FAILED")


def with_cursor(url: str, cursor: str) -> str:
    """The GraphQL request URL with `cursor` set inside its `variables` JSON."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    variables = json.loads(query.get("variables") or "{}")
    variables["cursor"] = cursor
    query["variables"] = json.dumps(variables, separators=(",", ":"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def page_state(url: str, text: str) -> tuple[str, str] | None:
    """What a page that is not a timeline is: `(kind, what it showed)` with kind `login_wall`,
    `account_locked`, `error_page` or `empty_timeline`; None when it may still become a timeline."""
    path = urlsplit(url).path
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")[:120]
    if path.startswith(_LOGIN_PATHS) or any(t in text for t in _LOGIN_TEXTS):
        return "login_wall", f"{path}: {first_line}"
    if path.startswith(_LOCKED_PATHS):
        return "account_locked", f"{path}: {first_line}"
    for kind, texts in (("error_page", _ERROR_TEXTS), ("empty_timeline", _EMPTY_TEXTS)):
        shown = next((t for t in texts if t in text), None)
        if shown is not None:
            return kind, f"{path}: {shown}"
    return None


def _visible_text(page) -> str:
    from playwright.sync_api import Error

    try:
        return page.inner_text("body", timeout=1000)
    except Error:  # navigating, or no body yet
        return ""


class BrowserBackend:
    """Playwright + Chromium (Debian's `/usr/bin/chromium` by default), started on first use.

    Args:
        base_url: the web app's origin (`https://x.com`, or the stand-in's URL).
        executable_path: the Chromium binary.
        block_resources: block image, video and font requests (`BLOCKED_URL_PATTERNS`).
        idle_timeout_s: how long to wait for the next GraphQL response after scrolling.
        navigation_timeout_s: page load timeout.

    Raises (from `pages`):
        ProxyFailure: the context's proxy refused the connection.
        BackendUnavailable: Chromium could not start or the site could not be reached.
        NotATimeline: before any GraphQL response, the page showed a login wall, a locked-account page,
            "Something went wrong" or an empty timeline (`page_state`).
    """

    name = "browser"

    def __init__(self, base_url: str, executable_path: str = "/usr/bin/chromium", *, headless: bool = True,
                 block_resources: bool = True, idle_timeout_s: float = 6.0, navigation_timeout_s: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.executable_path = executable_path
        self.headless = headless
        self.block_resources = block_resources
        self.idle_timeout_s = idle_timeout_s
        self.navigation_timeout_s = navigation_timeout_s
        self._playwright = None
        self._browser = None

    def _ensure_browser(self):
        if self._browser is None:
            from playwright.sync_api import Error, sync_playwright

            try:
                self._playwright = sync_playwright().start()
                self._browser = self._playwright.chromium.launch(
                    executable_path=self.executable_path, headless=self.headless, args=CHROMIUM_ARGS
                )
            except Error as exc:
                self.close()
                raise BackendUnavailable(f"Chromium at {self.executable_path} did not start: "
                                         f"{str(exc).splitlines()[0][:200]}") from None
        return self._browser

    def page_url(self, request: PageRequest) -> str:
        if request.operation == "SearchTimeline":
            return self.base_url + search_page_path(request.raw_query or "")
        return f"{self.base_url}/{request.screen_name}"

    def pages(self, lease: Lease, request: PageRequest) -> Iterator[Page]:
        """Yield the operation's GraphQL responses as the page fetches them, scrolling for more."""
        from playwright.sync_api import Error

        browser = self._ensure_browser()
        # "<-loopback>" makes Chromium send even 127.0.0.1 traffic through the account's proxy.
        proxy = {"server": lease.proxy, "bypass": "<-loopback>"} if lease.proxy else None
        context = browser.new_context(proxy=proxy, viewport={"width": 1280, "height": 900})
        try:
            context.add_cookies([
                {"name": "auth_token", "value": lease.account.auth_token, "url": self.base_url,
                 "httpOnly": True, "secure": self.base_url.startswith("https")},
                {"name": "ct0", "value": lease.account.ct0, "url": self.base_url,
                 "secure": self.base_url.startswith("https")},
            ])
            self._install_cursor_route(context, request)
            page = context.new_page()
            if self.block_resources:
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.setBlockedURLs", {"urls": BLOCKED_URL_PATTERNS})
            page.set_default_timeout(self.navigation_timeout_s * 1000)
            captured = []
            page.on("response", lambda r: captured.append(r)
                    if operation_from_url(r.url) == request.operation else None)
            try:
                page.goto(self.page_url(request), wait_until="domcontentloaded")
            except Error as exc:
                message = str(exc).splitlines()[0][:200]
                if lease.proxy and any(code in message for code in _PROXY_ERRORS):
                    raise ProxyFailure(message) from None
                raise BackendUnavailable(f"{self.base_url} could not be opened: {message}") from None
            consumed = 0
            timeout = self.navigation_timeout_s
            looked_at = 0.0
            while True:
                deadline = time.monotonic() + timeout
                scrolled_at = 0.0
                while consumed >= len(captured):
                    if not captured and time.monotonic() - looked_at > LOOK_EVERY_S:
                        # Nothing fetched yet: a login wall, an error page or an empty timeline never will.
                        looked_at = time.monotonic()
                        state = page_state(page.url, _visible_text(page))
                        if state is not None:
                            # The page may show the outcome of a GraphQL call whose response event has
                            # not been delivered to us yet: let pending events arrive before judging.
                            page.wait_for_timeout(200)
                            if not captured:
                                raise NotATimeline(*state)
                    if time.monotonic() > deadline or page.is_closed():
                        return
                    if timeout == self.idle_timeout_s and time.monotonic() - scrolled_at > SCROLL_EVERY_S:
                        # Keep scrolling while waiting: the page renders the last response after we see
                        # it, so one early scroll can land before the content it should reveal.
                        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                        scrolled_at = time.monotonic()
                    page.wait_for_timeout(50)
                response = captured[consumed]
                consumed += 1
                yield self._page(response, lease, request.operation)
                timeout = self.idle_timeout_s
        finally:
            context.close()

    @staticmethod
    def _install_cursor_route(context, request: PageRequest) -> None:
        """Rewrite the first request of the operation to start at the saved cursor (resume)."""
        if not request.cursor:
            return
        pending = [request.cursor]

        def handle(route):
            if pending and operation_from_url(route.request.url) == request.operation:
                route.continue_(url=with_cursor(route.request.url, pending.pop()))
            else:
                route.continue_()

        context.route("**/i/api/graphql/**", handle)

    @staticmethod
    def _page(response, lease: Lease, operation: str) -> Page:
        from playwright.sync_api import Error

        body, error = None, None
        try:
            body = response.body()
        except Error as exc:
            error = str(exc).splitlines()[0][:200]
            if response.status >= 400:
                # x.com refuses with an empty body (404), which Chromium may not keep: the status is the answer.
                body = b""
        return Page(operation=operation, url=response.url, status=response.status, body=body,
                    headers=dict(response.headers), account=lease.account.username, read_error=error)

    def close(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            finally:
                self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
