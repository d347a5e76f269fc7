"""`impressox doctor`: probe each dependency once and report one line per check (no Dagster imports).

A `Check` wraps a probe: a callable that returns a short detail on success and raises on failure. Each
probe runs in a worker thread with a deadline, so a host that swallows packets cannot hang the report.
Errors are reduced to their first line and redacted (see `ops.redaction`). The process exit status is
non-zero when any required check fails; optional checks only warn.

The generic probes here cover what has no resource of its own: HTTP reachability of an API base URL,
launching Debian's Chromium through Playwright (with the flags STACK.md lists), and loading the bundled
all-MiniLM-L6-v2 sentence-transformers model offline.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from impressox_pipelines.operations.redaction import Redactor

OK, FAIL, WARN = "ok", "FAIL", "warn"

CHROMIUM_EXECUTABLE = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
)


class CheckFailed(RuntimeError):
    """A probe's own verdict: its message is shown as is, without an exception class name."""


@dataclass(frozen=True)
class Check:
    """One dependency probe.

    `name`: short label (`mongo`, `chromium`); `target`: where it points, without credentials;
    `probe`: returns a detail string, raises on failure; `required`: a failure makes the exit non-zero;
    `timeout_s`: deadline of the probe in seconds.
    """

    name: str
    target: str
    probe: Callable[[], str]
    required: bool = True
    timeout_s: float = 30.0


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: `verdict` is `ok`, `FAIL` (required) or `warn` (optional failure)."""

    name: str
    target: str
    verdict: str
    latency_ms: float
    detail: str
    required: bool


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, CheckFailed):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_check(check: Check, redact: Redactor | None = None) -> CheckResult:
    """Run one probe under its deadline; never raises."""
    redact = redact or Redactor.from_environment()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"doctor-{check.name}")
    started = time.perf_counter()
    future = pool.submit(check.probe)
    try:
        detail, verdict = future.result(timeout=check.timeout_s), OK
    except concurrent.futures.TimeoutError:
        detail, verdict = f"no answer within {check.timeout_s:g} s", FAIL
    except Exception as exc:  # noqa: BLE001 - every failure becomes a verdict line
        detail, verdict = _reason(exc), FAIL
    latency_ms = (time.perf_counter() - started) * 1000
    # A probe past its deadline keeps its thread; the report does not wait for it.
    pool.shutdown(wait=False, cancel_futures=True)
    if verdict == FAIL and not check.required:
        verdict = WARN
    return CheckResult(check.name, check.target, verdict, latency_ms, redact(str(detail))[:300], check.required)


def run_checks(checks: Iterable[Check]) -> list[CheckResult]:
    """Run checks one after another (they share two cores with the pipelines), in the given order."""
    redact = Redactor.from_environment()
    return [run_check(check, redact) for check in checks]


def format_result(result: CheckResult) -> str:
    """`<verdict> <name> <latency> ms  <target>  <detail>`, aligned; `(optional)` marks optional checks."""
    optional = "" if result.required else " (optional)"
    return (f"{result.verdict:<4}  {result.name:<18} {result.latency_ms:>8.0f} ms  "
            f"{result.target}  {result.detail}{optional}")


def exit_status(results: Iterable[CheckResult]) -> int:
    """1 when a required check failed, else 0."""
    return 1 if any(r.verdict == FAIL for r in results) else 0


def probe_http(url: str, timeout_s: float = 10.0) -> str:
    """GET `url` (an API's health endpoint, e.g. CoinGecko's `/ping`): a 2xx or 3xx answer passes.

    Returns:
        `HTTP <status>`.
    Raises:
        httpx.HTTPError: on connection failures and timeouts; CheckFailed naming the URL on an HTTP error
        (4xx or 5xx): the service answered, but not as the client needs.
    """
    import httpx

    response = httpx.get(url, timeout=timeout_s, follow_redirects=False)
    if response.status_code >= 400:
        raise CheckFailed(f"HTTP {response.status_code} from {url}")
    return f"HTTP {response.status_code}"


def probe_chromium(executable: str = CHROMIUM_EXECUTABLE, timeout_s: float = 30.0) -> str:
    """Launch headless Chromium through Playwright, open a blank page, and close everything.

    Returns:
        `Chromium <version>`.
    Raises:
        playwright.sync_api.Error: when the browser cannot start (missing binary, sandbox, memory).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS), timeout=timeout_s * 1000
        )
        try:
            page = browser.new_page()
            page.goto("about:blank")
            return f"Chromium {browser.version}"
        finally:
            browser.close()
