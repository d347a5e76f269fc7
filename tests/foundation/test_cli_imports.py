"""A command that only reads or writes a store starts without the heavy libraries: no Dagster, PyTorch,
llama-index, chromadb or Playwright is imported for it (the CLI opens its stores through
`connections`, which imports no Dagster), and it opens only the stores it uses. Checked on the modules a
fresh interpreter has loaded once the command has run and on the store files it left, never on how long
it took."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers.paths import REPO_ROOT, fixtures_root

HEAVY = ("dagster", "torch", "llama_index", "chromadb", "playwright", "sentence_transformers")

# Runs the console script's `main()` in this interpreter, then prints which heavy top-level packages it
# loaded as the last line of stderr (stdout stays the command's own).
PROBE = """
import json, sys
from impressox_pipelines.cli import main
sys.argv = ["impressox", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
sys.stderr.write("\\n" + json.dumps({"exit": code, "heavy": loaded}) + "\\n")
""".replace("HEAVY", repr(HEAVY))


def _run(*args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO_ROOT, env=dict(os.environ),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stderr.strip().splitlines()[-1])


CAPTURE = fixtures_root() / "twscrape" / "raw_search.json"

# (arguments, exit status): each test has its own empty stores, so the rule to remove and the chat to show
# are not there (exit 1: "not found", after the store was opened and read).
LIGHT = [
    (["--help"], 0),
    (["rules", "add", "r1", "--owner", "1001", "--symbol", "BTC", "--above", "100000"], 0),
    (["rules", "list"], 0),
    (["rules", "remove", "absent"], 1),
    (["users", "set", "1001", "--subscribe", "price_alerts"], 0),
    (["users", "show", "1001"], 1),
    (["notify", "send", "1001", "hello"], 0),
    pytest.param(["x", "parse", str(CAPTURE)], 0, marks=pytest.mark.skipif(
        not CAPTURE.exists(), reason=f"real capture {CAPTURE} is absent")),
]


@pytest.mark.parametrize("args,exit_status", LIGHT, ids=lambda value: " ".join(value[:2]) if isinstance(value, list)
                         else str(value))
def test_a_store_command_imports_no_heavy_library(args, exit_status):
    assert _run(*args) == {"exit": exit_status, "heavy": []}


def test_rag_query_on_an_empty_knowledge_base_loads_no_model():
    assert _run("rag", "query", "What is an airdrop?") == {"exit": 0, "heavy": ["chromadb"]}


def test_a_command_opens_only_the_stores_it_uses(data_dir):
    from typer.testing import CliRunner

    from impressox_pipelines.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["users", "set", "1001", "--subscribe", "airdrops"]).exit_code == 0
    assert (data_dir / "mongo.sqlite").exists() and not (data_dir / "redis").exists()
    shutil.rmtree(data_dir / "mongo.sqlite")  # litemongo's store is a folder
    assert runner.invoke(app, ["rules", "list"]).exit_code == 0
    assert (data_dir / "redis" / "impressox.rdb").exists() and not (data_dir / "mongo.sqlite").exists()
