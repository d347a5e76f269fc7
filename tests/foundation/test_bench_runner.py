"""`bench/run_all.py`: every benchmark by default; named ones replace only their own rows of RESULTS.md."""

from __future__ import annotations

import importlib.util

import pytest

from tests.helpers.paths import REPO_ROOT

spec = importlib.util.spec_from_file_location("run_all", REPO_ROOT / "bench" / "run_all.py")
run_all = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_all)


@pytest.fixture
def bench_dir(tmp_path, monkeypatch):
    for name, value in (("alpha", 1), ("beta", 2)):
        (tmp_path / f"{name}.py").write_text(
            f'import json\nprint("warming up")\nprint(json.dumps({{"benchmark": "{name}", "value": {value}, '
            f'"target": "none"}}))\n')
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    return tmp_path


def test_runs_every_benchmark_and_writes_one_row_each(bench_dir):
    assert run_all.main([]) == 0
    rows = [line for line in (bench_dir / "RESULTS.md").read_text().splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| benchmark |")
    assert [(r.split(" | ")[0], r.split(" | ")[1].split(";")[0]) for r in rows[1:]] == [
        ("| alpha", "value=1"), ("| beta", "value=2")]


def test_a_named_benchmark_replaces_only_its_row(bench_dir):
    run_all.main([])
    results = bench_dir / "RESULTS.md"
    results.write_text(results.read_text().replace("value=2", "value=2 (old run)"))
    (bench_dir / "alpha.py").write_text('import json\nprint(json.dumps({"benchmark": "alpha", "value": 9}))\n')
    assert run_all.main(["alpha"]) == 0
    rows = [line for line in results.read_text().splitlines() if line.startswith("| ") and "benchmark |" not in line]
    assert [r.split(" | ")[1].split(";")[0] for r in rows] == ["value=9", "value=2 (old run)"]


def test_an_unknown_name_is_a_usage_error(bench_dir):
    with pytest.raises(SystemExit) as exit_info:
        run_all.main(["gamma"])
    assert exit_info.value.code == 2
    assert not (bench_dir / "RESULTS.md").exists()


def test_a_failing_benchmark_is_reported_and_fails_the_run(bench_dir):
    (bench_dir / "beta.py").write_text("raise SystemExit('broken input')\n")
    assert run_all.main(["beta"]) == 1
    assert "error=exit 1: broken input" in (bench_dir / "RESULTS.md").read_text()
