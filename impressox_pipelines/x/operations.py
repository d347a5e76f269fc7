"""GraphQL query ids and feature switches, discovered at run time from x.com's main script bundle.

X rotates an operation's query id every few weeks (the old id then answers 404) and adds required
feature switches (a request without one answers 400 "The following features cannot be null: a, b").
The home page names the bundle (`<assets>/responsive-web/client-web/main.<hash>.js`); the bundle holds
one object per operation:

    {queryId:"BGd0T_j7oVwlW5U79tO_0A",operationName:"SearchTimeline",operationType:"query",
     metadata:{featureSwitches:["rweb_video_screen_enabled",…],fieldToggles:[…]}}

What was discovered is cached in Redis (`impressox:x:graphql_operations`, JSON, with a TTL) for every
account and process. Precedence: discovered > configured (`query_ids`, `features`) > shipped
(`graphql.QUERY_IDS`, `graphql.FEATURES`). Features named by the bundle or by a 400 that we do not know
are sent as false, as twscrape does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from impressox_pipelines.x.graphql import FEATURES, QUERY_IDS
from impressox_pipelines.x.xclid import TWIMG_ASSETS, on_assets

CACHE_KEY = "impressox:x:graphql_operations"
MAIN_BUNDLE = re.compile(r"""(?:https://abs\.twimg\.com)?/responsive-web/client-web[\w-]*/main\.[0-9a-f]+\w?\.js""")
_OPERATION = re.compile(
    r"""queryId:\s*["']([\w-]+)["'],\s*operationName:\s*["'](\w+)["'],\s*operationType:\s*["']\w+["']"""
    r"""(?:,\s*metadata:\s*\{\s*featureSwitches:\s*\[([^\]]*)\])?""")
_MISSING = re.compile(r"The following features cannot be null: ([\w, ]+)")


@dataclass(frozen=True)
class Operation:
    """What a request of one operation carries: its query id and the `features` JSON object."""

    name: str
    query_id: str
    features: dict[str, bool]


def parse_bundle(script: str) -> dict[str, tuple[str, list[str]]]:
    """`{operationName: (queryId, [feature switch names])}` for every operation the bundle defines."""
    found = {}
    for match in _OPERATION.finditer(script):
        names = re.findall(r"""["'](\w+)["']""", match.group(3) or "")
        found[match.group(2)] = (match.group(1), names)
    return found


def missing_features(body: bytes | str | None) -> list[str]:
    """The feature names of X's 400 "The following features cannot be null: a, b" (code 336), in order;
    empty for any other body."""
    try:
        errors = orjson.loads(body or b"{}").get("errors") or []
    except (orjson.JSONDecodeError, AttributeError):
        return []
    names: list[str] = []
    for error in errors:
        match = _MISSING.search(str(error.get("message") if isinstance(error, dict) else ""))
        if match:
            names += [n.strip() for n in match.group(1).split(",") if n.strip()]
    return list(dict.fromkeys(names))


class Operations:
    """The current query id and features of each operation, shared through `cache` (a redis-py client).

    Args:
        cache: `get`, `set(name, value, ex=)`, `delete` (redis-py, or `cache.MemoryCache`).
        query_ids: configured query ids (replace the shipped ones; discovery still wins).
        features: configured feature values (added to / replacing the shipped ones).
        ttl_s: how long a discovery stays valid (seconds).
        log: receives warnings (a bundle without query ids, an unreachable bundle).
    """

    def __init__(self, cache: Any, *, query_ids: dict[str, str] | None = None,
                 features: dict[str, bool] | None = None, assets_url: str = TWIMG_ASSETS, ttl_s: int = 6 * 3600,
                 log: Callable[[str], None] = lambda message: None):
        self.cache = cache
        self.query_ids = {**QUERY_IDS, **(query_ids or {})}
        self.features = {**FEATURES, **(features or {})}
        self.assets_url = assets_url
        self.ttl_s = ttl_s
        self.log = log
        self.added: dict[str, dict[str, bool]] = {}  # per operation, from 400 answers
        self.source = "shipped"  # "bundle" once discovery succeeded, "fallback: <why>" after it failed

    def get(self, operation: str) -> Operation:
        """The operation's query id and features (discovered, else configured, else shipped).

        Raises:
            KeyError: an operation known to none of the three.
        """
        discovered = self._discovered().get(operation)
        query_id = discovered[0] if discovered else self.query_ids[operation]
        named = discovered[1] if discovered else ()
        features = {**self.features, **{n: False for n in named if n not in self.features},
                    **self.added.get(operation, {})}
        return Operation(operation, query_id, features)

    def known(self) -> bool:
        """Whether a discovery is cached (and has not expired)."""
        return bool(self._discovered())

    def refresh(self, client: httpx.Client, home: str) -> str:
        """Read the bundle the home page names and cache its operations; returns `self.source`.

        Never raises: a page without a bundle, a bundle that cannot be fetched or that names no query
        ids leaves the current values in use, logs a warning and says so in `source`.
        """
        match = MAIN_BUNDLE.search(home)
        if match is None:
            return self._fallback("the home page names no main script bundle")
        url = on_assets(match.group(0) if match.group(0).startswith("http") else TWIMG_ASSETS + match.group(0),
                        self.assets_url)
        try:
            response = client.get(url)
        except httpx.HTTPError as exc:
            return self._fallback(f"the main bundle could not be fetched ({type(exc).__name__})")
        if response.status_code != 200:
            return self._fallback(f"the main bundle answered HTTP {response.status_code}")
        found = parse_bundle(response.text)
        if not found:
            return self._fallback("the main bundle names no query ids")
        self.cache.set(CACHE_KEY, json.dumps(found), ex=self.ttl_s)
        self.source = "bundle"
        return self.source

    def add_missing(self, operation: str, names: list[str]) -> list[str]:
        """Send `names` as false from now on for `operation`; returns the ones not sent before."""
        current = self.get(operation).features
        new = [n for n in names if n not in current]
        self.added.setdefault(operation, {}).update({n: False for n in names if n not in current})
        return new

    def _fallback(self, why: str) -> str:
        self.source = f"fallback: {why}"
        self.log(f"X query ids: {why}; using the {'cached' if self.known() else 'configured/shipped'} values")
        return self.source

    def _discovered(self) -> dict[str, list]:
        raw = self.cache.get(CACHE_KEY)
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
