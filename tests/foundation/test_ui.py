"""The Dagster UI: `dagster dev` serves the code location and its asset graph shows every asset."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dagster_dev(tmp_path: Path):
    """`dagster dev` in its own process group (so the whole tree can be stopped), on a private instance."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        f"storage:\n  sqlite:\n    base_dir: {home / 'storage'}\ntelemetry:\n  enabled: false\n"
    )
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    log = open(tmp_path / "dagster_dev.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port),
         "-w", str(REPO_ROOT / "workspace.yaml")],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            assert proc.poll() is None, (tmp_path / "dagster_dev.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "dagster dev did not answer within 180 s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


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
        skip = page.get_by_role("button", name="Skip")
        try:
            skip.click(timeout=15_000)
        except Exception:  # noqa: BLE001 - the first-visit dialog does not always appear
            pass
        # Groups start collapsed; the graph's own context menu expands them all.
        page.get_by_text("Materialize all").wait_for(timeout=60_000)
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
