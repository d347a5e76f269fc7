"""`bench/airdrop_quality.py`: the confusion matrix over janitr-format files (figures are not asserted).

The counting tests use the rules alone, whose verdicts on these short posts are known; the model's
part is checked with a model trained in the test on a file of its own.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from impressox_pipelines.airdrops.detector import AirdropDetector
from impressox_pipelines.airdrops.training import train
from tests.helpers.paths import REPO_ROOT, require_fixture

spec = importlib.util.spec_from_file_location("airdrop_quality", REPO_ROOT / "bench" / "airdrop_quality.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_counts_only_posts_that_mention_airdrops_or_claims(tmp_path):
    rows = [
        {"id": "1", "text": "Send 1 ETH to receive 2 ETH back from our airdrop", "labels": ["scam"]},
        {"id": "2", "text": "The claim window of the airdrop closes Friday", "labels": ["topic_crypto"]},
        {"id": "3", "text": "claim your airdrop", "labels": ["phishing"]},
        {"id": "4", "text": "scam about nothing else", "labels": ["scam"]},
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    result = bench.main(path, AirdropDetector(scam_model=None))
    assert result["subset"] == 3 and result["positives"] == 2 and result["unreadable_lines"] == 1
    matrix = result["confusion_matrix"]
    assert matrix == {"true_positive": 1, "false_positive": 0, "false_negative": 1, "true_negative": 1}
    assert result["precision"] == 1.0 and result["recall"] == 0.5


def test_runs_over_the_real_labelled_posts():
    result = bench.main(require_fixture("janitr_x_posts", "sample.jsonl"))
    assert result["subset"] == sum(result["confusion_matrix"].values()) > 50
    assert result["target"] == {"recall": 0.9, "precision": 0.8}
    # The shipped model was trained on this very file: the headline must not be its in-sample score.
    assert result["evaluation"].startswith("cross-validated")
    assert len(result["cross_validated_seeds"]) == 3
    assert result["rules_only"]["confusion_matrix"] != result["shipped_model_on_seen_posts"]["confusion_matrix"]


PROJECTS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "lambda"]
OTHER_PROJECTS = ["iota", "rho", "tau", "phi", "chi", "psi", "nu", "xi", "mu", "eta"]


def _labelled(n: int, projects: list[str]) -> list[dict]:
    """Two wordings per class, each naming one of ten projects first (ten near-duplicate groups)."""
    scams = ["{} airdrop is live, claim your free tokens now, connect wallet before it ends",
             "{} airdrop: eligible wallets claim rewards now, hurry"]
    legit = ["{} airdrop snapshot was taken last week, details in the docs",
             "{} claim page opens next month, the thread explains the vesting"]
    return [{"id": str(i), "text": (scams if i % 2 else legit)[i % 4 // 2].format(projects[i % 10]),
             "labels": ["scam"] if i % 2 else ["topic_crypto"]} for i in range(n)]


def _write(path, rows, transform=lambda line: line) -> None:
    path.write_text("".join(transform(json.dumps(r)) + "\n" for r in rows))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    own = tmp_path_factory.mktemp("bench") / "own.jsonl"
    _write(own, _labelled(40, PROJECTS))
    model, _ = train(own)
    return own, AirdropDetector(scam_model=model)


def test_cross_validates_on_the_training_file_and_on_near_copies_of_it(trained, tmp_path):
    own, detector = trained
    shorter, spaced = tmp_path / "shorter.jsonl", tmp_path / "spaced.jsonl"
    _write(shorter, _labelled(40, PROJECTS)[:-5])
    _write(spaced, [{**r, "text": r["text"] + "  "} for r in _labelled(40, PROJECTS)])
    for path in (own, shorter, spaced):
        result = bench.main(path, detector)
        assert result["evaluation"].startswith("cross-validated"), path.name
        assert "shipped_model_on_seen_posts" in result and len(result["cross_validated_seeds"]) == 3


def test_measures_the_shipped_detector_on_new_posts_and_leaves_seen_ones_out(trained, tmp_path):
    _, detector = trained
    other = tmp_path / "other.jsonl"
    rows = _labelled(40, OTHER_PROJECTS) + _labelled(4, PROJECTS)  # four posts the model was trained on
    _write(other, rows)
    result = bench.main(other, detector)
    assert result["evaluation"] == "the shipped detector on posts it was not trained on"
    assert result["seen_in_training"] == 4 and result["subset"] == 40
    assert result["including_seen"]["subset"] == 44
    # The same two wordings per class with other project names: the model separates them.
    assert result["recall"] == 1.0 and result["precision"] == 1.0


@pytest.mark.parametrize("content", [b"", b"not json\n{}\n", b'{"text": "x", "labels": "scam"}\n'])
def test_a_file_without_readable_posts_is_an_error(tmp_path, content):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="no readable post"):
        bench.main(path, AirdropDetector(scam_model=None))


def test_the_script_prints_one_error_line_and_exits_2_on_a_directory(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "airdrop_quality.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert json.loads(result.stdout)["error"].startswith("[Errno 21] Is a directory")
