"""Helpers shared by the operations tests: the production instance config rendered for this machine."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.paths import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
CONTAINER_STORAGE = "/opt/dagster/storage"


def render_production_home(home: Path) -> Path:
    """Copy deploy/dagster.yaml into `home` with the container storage path moved under `home`.

    That path is the only change: storage, run coordinator, run launcher, retries, daemons and logging
    stay exactly as deployed. Returns the rendered file.
    """
    text = (DEPLOY / "dagster.yaml").read_text()
    assert CONTAINER_STORAGE in text
    home.mkdir(parents=True, exist_ok=True)
    rendered = home / "dagster.yaml"
    rendered.write_text(text.replace(CONTAINER_STORAGE, str(home / "storage")))
    return rendered
