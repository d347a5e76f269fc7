"""The `impressox` console script turns configuration and connection errors into one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers.paths import REPO_ROOT


def _impressox(*args: str, **env: str) -> subprocess.CompletedProcess:
    code = "import sys; from impressox_pipelines.cli import main; sys.argv = ['impressox', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO_ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"IMPRESSOX_REDIS_URL": "redis://:s3cret@127.0.0.1:1/0"}, "IMPRESSOX_REDIS_URL"),
        ({"IMPRESSOX_ENV": "prod"}, "IMPRESSOX_MONGODB_URI"),
    ],
    ids=["unreachable-redis", "prod-without-services"],
)
def test_setup_errors_are_one_line_without_traceback_or_secret(env, expected):
    result = _impressox("rules", "list", **env)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_missing_replay_dir_is_refused_before_anything_runs(tmp_path):
    result = _impressox("demo", "--replay-dir", str(tmp_path / "absent"))
    assert result.returncode == 2
    # typer draws the message in a box, wrapped to the terminal's width
    assert "does not exist" in " ".join(result.stderr.replace("│", " ").split())


def test_bad_arguments_are_one_error_line_from_the_console_script():
    result = _impressox("rules", "add", "r1", "--owner", "1001", "--symbol", "BTC/", "--above", "100")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: Invalid value for '--symbol': not a pair: 'BTC/' "
                      "(expected SYMBOL or SYMBOL/QUOTE, e.g. BTC/USD)"]
