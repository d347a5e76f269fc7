"""The Dagster UI: `dagster dev` serves the code location and its asset graph shows every asset."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.harness import local_deployment
from tests.helpers.paths import REPO_ROOT

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]


@pytest.fixture
def dagster_dev(tmp_path: Path):
    """`dagster dev` on a private instance and data directory (no stand-ins: only the UI is looked at)."""
    with local_deployment(tmp_path, {}) as deployment:
        yield deployment.url


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (make setup installs it)")
def test_asset_graph_shows_every_asset(dagster_dev: str):
    from playwright.sync_api import sync_playwright

    from impressox_pipelines.definitions import build_definitions

    expected = {key.to_user_string() for key in build_definitions().resolve_asset_graph().get_all_asset_keys()}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{dagster_dev}/asset-groups", wait_until="domcontentloaded")
        # Groups start collapsed; the graph's own context menu expands them all.
        page.get_by_text("Materialize all").wait_for(timeout=60_000)
        # A first visit: the local dagster.yaml turns the community dialog off, so the graph is usable at once.
        assert page.get_by_role("button", name="Skip").count() == 0, "the first-visit dialog is shown"
        page.mouse.click(1500, 900, button="right")
        page.get_by_role("menuitem", name="Expand all groups").click(timeout=15_000)
        deadline = time.monotonic() + 60
        missing = set(expected)
        while missing and time.monotonic() < deadline:
            text = page.inner_text("body")
            missing = {key for key in expected if key not in text}
            if missing:
                page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "asset_graph.png"), full_page=True)
        browser.close()
    assert expected, "the project defines no assets"
    assert not missing, f"asset graph does not show: {sorted(missing)}"
