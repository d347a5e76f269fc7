"""`x-client-transaction-id`: the header x.com's web app puts on every API request (x.com answers 404
without a valid one).

The id is computed by the `xclienttransaction` library (PyPI; the algorithm of x.com's web app, as
twscrape's `xclid.py` also uses it) from two documents fetched per account, with its cookies and proxy:
the home page (its `twitter-site-verification` meta key and `loading-x-anim-*` SVG frames) and the
on-demand script the page names (`,<chunk>:"ondemand.s"` and `,<chunk>:"<hash>"` →
`<assets>/responsive-web/client-web/ondemand.s.<hash>a.js`, whose `(x[NN], 16)` patterns index the key).
Both texts are cached in Redis (`impressox:x:xclid:<username>`) with a TTL, so every run and process
reuses them until they expire or a 404 asks for fresh ones.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bs4
import httpx
from x_client_transaction import ClientTransaction
from x_client_transaction.constants import ON_DEMAND_FILE_REGEX, ON_DEMAND_FILE_URL, ON_DEMAND_HASH_PATTERN

CACHE_KEY = "impressox:x:xclid:{username}"
TWIMG_ASSETS = "https://abs.twimg.com"
_META_KEY = re.compile(r"""<meta[^>]+name=["']twitter-site-verification["']""")


class TransactionIdError(Exception):
    """The transaction-id documents could not be fetched or read. `reason` is a short counted name
    (`home_page_http_403`, `no_verification_key`, `no_ondemand_script`, `ondemand_http_404`,
    `library_error:IndexError`, …); the message says what was expected and where."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class HomeDocuments:
    """The home page and the on-demand script of one account, as fetched (text)."""

    home: str
    ondemand: str


def ondemand_url(home: str, assets_url: str = TWIMG_ASSETS) -> str:
    """The on-demand script's URL named by the home page, on `assets_url` (x.com's is abs.twimg.com).

    Raises:
        TransactionIdError: `no_ondemand_script` when the page names no `ondemand.s` chunk or hash.
    """
    chunk = ON_DEMAND_FILE_REGEX.search(home)
    digest = re.search(ON_DEMAND_HASH_PATTERN.format(chunk.group(1)), home) if chunk else None
    if digest is None:
        raise TransactionIdError("no_ondemand_script",
                                 "the home page names no `ondemand.s` chunk with its hash (layout changed?)")
    return on_assets(ON_DEMAND_FILE_URL.format(filename=digest.group(1)), assets_url)


def on_assets(url: str, assets_url: str) -> str:
    """`url` (on abs.twimg.com, as x.com's pages name it) moved onto `assets_url` (a stand-in)."""
    return assets_url.rstrip("/") + url[len(TWIMG_ASSETS):] if url.startswith(TWIMG_ASSETS) else url


def generator(documents: HomeDocuments) -> ClientTransaction:
    """The library's generator for these documents.

    Raises:
        TransactionIdError: `no_verification_key` when the page lacks the meta key, else
            `library_error:<exception type>` when the library cannot read the documents.
    """
    _require_key(documents.home)
    try:
        return ClientTransaction(bs4.BeautifulSoup(documents.home, "html.parser"), documents.ondemand)
    except Exception as exc:  # noqa: BLE001 - the library raises bare Exception, IndexError, TypeError, …
        raise TransactionIdError(f"library_error:{type(exc).__name__}",
                                 f"xclienttransaction could not read the home page or on-demand script: "
                                 f"{type(exc).__name__}: {str(exc)[:160]}") from None


class TransactionIds:
    """Per-account transaction-id generators, their documents cached in `cache` for `ttl_s` seconds.

    `cache` is a redis-py client (or anything with its `get`, `set(name, value, ex=)` and `delete`);
    `home_path` is the page fetched for the documents (x.com's logged-in home, `/home`). A generator
    built in this process is reused for `reuse_s` seconds (of `clock`) before the cache is read again,
    so a request does not move the documents (hundreds of KB on x.com) out of Redis each time.
    """

    def __init__(self, cache: Any, *, assets_url: str = TWIMG_ASSETS, ttl_s: int = 3600, home_path: str = "/home",
                 reuse_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.cache = cache
        self.assets_url = assets_url
        self.ttl_s = ttl_s
        self.home_path = home_path
        self.reuse_s = reuse_s
        self.clock = clock
        self._generators: dict[str, tuple[ClientTransaction, float]] = {}

    def header(self, client: httpx.Client, username: str, method: str, path: str, *, fresh: bool = False,
               home: str | None = None) -> str:
        """The `x-client-transaction-id` for `method` + `path` (the URL path, without the query).

        `fresh` ignores the cache (after a 404); `home` is the home page when the caller just fetched it.

        Raises:
            TransactionIdError: the documents could not be fetched or read (see its `reason`).
        """
        known = self._generators.get(username)
        if known is not None and not fresh and self.clock() - known[1] < self.reuse_s:
            return known[0].generate_transaction_id(method.upper(), path)
        documents = None if fresh else _cached(self.cache.get(CACHE_KEY.format(username=username)))
        if documents is None:
            documents = self.fetch(client, home)
            self.cache.set(CACHE_KEY.format(username=username),
                           json.dumps({"home": documents.home, "ondemand": documents.ondemand}), ex=self.ttl_s)
        made = generator(documents)
        self._generators[username] = (made, self.clock())
        return made.generate_transaction_id(method.upper(), path)

    def home_page(self, client: httpx.Client) -> str:
        """The account's home page (text).

        Raises:
            TransactionIdError: `home_page_http_<status>`, or `home_page_unreachable`.
        """
        return _fetch_text(client, self.home_path, "home_page")

    def fetch(self, client: httpx.Client, home: str | None = None) -> HomeDocuments:
        """Fetch the home page (unless given) and the on-demand script it names, with `client`'s
        cookies and proxy."""
        home = home if home is not None else self.home_page(client)
        _require_key(home)
        return HomeDocuments(home, _fetch_text(client, ondemand_url(home, self.assets_url), "ondemand"))


def _require_key(home: str) -> None:
    if not _META_KEY.search(home):
        raise TransactionIdError("no_verification_key", "the home page has no `twitter-site-verification` meta "
                                                        "key (a login wall or an error page?)")


def _fetch_text(client: httpx.Client, url: str, what: str) -> str:
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise TransactionIdError(f"{what}_unreachable", f"{what} {url} could not be fetched: "
                                                         f"{type(exc).__name__}") from None
    if response.status_code != 200:
        raise TransactionIdError(f"{what}_http_{response.status_code}",
                                 f"{what} {url} answered HTTP {response.status_code}")
    return response.text


def _cached(raw: Any) -> HomeDocuments | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return HomeDocuments(str(data["home"]), str(data["ondemand"]))
    except (ValueError, KeyError, TypeError):
        return None  # an unreadable entry is refetched and overwritten

