"""X scraping: the `browser` (Playwright + Chromium) or `api` (httpx) backend with the shared account pool."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dagster import ConfigurableResource

from impressox_pipelines.connections.errors import ResourceSetupError
from impressox_pipelines.connections.x_accounts import open_account_pool
from impressox_pipelines.x.accounts import AccountPool
from impressox_pipelines.x.api import ApiBackend
from impressox_pipelines.x.browser import BrowserBackend
from impressox_pipelines.x.scrape import Backend

URL_VARIABLE = "IMPRESSOX_X_URL"
BACKENDS = ("browser", "api")


class XScraperResource(ConfigurableResource):
    """Opens a scraping backend and the account pool; the scrape loop itself lives in `x.scrape`.

    `accounts_file` (from `EnvVar("IMPRESSOX_X_ACCOUNTS_FILE")`) names a JSON file of session cookies
    (see `x.accounts.load_accounts`); its content is never logged or stored. `base_url` is x.com, or
    the stand-in's URL (`IMPRESSOX_X_URL`). `query_ids` and `features` replace the shipped GraphQL
    values used when the main bundle cannot be read (see `x.operations`); `xclid_ttl_s` and
    `operations_ttl_s` are how long the transaction-id documents and the discovered query ids stay
    cached (seconds).

    Raises:
        ResourceSetupError: from `account_pool`, when the accounts file is unset, missing or malformed;
            from `open_backend`, for an unknown backend name.
    """

    backend: str = "browser"
    base_url: str = "https://x.com"
    accounts_file: str | None = None
    executable_path: str = "/usr/bin/chromium"
    block_resources: bool = True
    idle_timeout_s: float = 6.0
    request_timeout_s: float = 20.0
    max_pages: int = 50
    query_ids: dict[str, str] = {}
    features: dict[str, bool] = {}
    xclid_ttl_s: int = 3600
    operations_ttl_s: int = 6 * 3600

    @contextmanager
    def open_backend(self, cache: Any = None, log: Callable[[str], None] = lambda message: None
                     ) -> Iterator[Backend]:
        """The configured backend, closed (browser stopped) on exit.

        `cache` is the redis-py client the `api` backend keeps its transaction-id documents and
        discovered query ids in, shared by every run (default: process-local, for this backend only);
        `log` receives its warnings (a bundle without query ids).
        """
        if self.backend not in BACKENDS:
            raise ResourceSetupError("X scraper", None, self.base_url,
                                     f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.backend == "browser":
            backend: Backend = BrowserBackend(self.base_url, self.executable_path,
                                              block_resources=self.block_resources,
                                              idle_timeout_s=self.idle_timeout_s,
                                              navigation_timeout_s=max(self.request_timeout_s, 10.0))
        else:
            backend = ApiBackend(self.base_url, timeout_s=self.request_timeout_s, cache=cache,
                                 query_ids=self.query_ids or None, features=self.features or None,
                                 xclid_ttl_s=self.xclid_ttl_s, operations_ttl_s=self.operations_ttl_s, log=log)
        try:
            yield backend
        finally:
            backend.close()

    def account_pool(self, database: Any) -> AccountPool:
        """The pool over the accounts file, with its state in `database[x_accounts]` (`open_account_pool`)."""
        return open_account_pool(database, self.accounts_file, self.base_url)
