"""`bench/airdrop_quality.py`: the confusion matrix over janitr-format files (figures are not asserted).

The counting tests use the rules alone, whose verdicts on these short posts are known; the model's
part is checked with a model trained in the test on a file of its own.
"""

from __future__ import annotations

import importlib.util
import json

from impressox_pipelines.airdrops.detector import AirdropDetector
from impressox_pipelines.airdrops.training import train
from tests.conftest import REPO_ROOT, require_fixture

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
    assert result["rules_only"]["confusion_matrix"] != result["shipped_model_on_own_training_file"]["confusion_matrix"]


PROJECTS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "lambda"]


def _labelled(n: int) -> list[dict]:
    """Two wordings per class, each naming one of ten projects first (ten near-duplicate groups)."""
    scams = ["{} airdrop is live, claim your free tokens now, connect wallet before it ends",
             "{} airdrop: eligible wallets claim rewards now, hurry"]
    legit = ["{} airdrop snapshot was taken last week, details in the docs",
             "{} claim page opens next month, the thread explains the vesting"]
    return [{"id": str(i), "text": (scams if i % 2 else legit)[i % 4 // 2].format(PROJECTS[i % 10]),
             "labels": ["scam"] if i % 2 else ["topic_crypto"]} for i in range(n)]


def test_cross_validates_a_model_on_its_own_training_file_and_not_on_another(tmp_path):
    own, other = tmp_path / "own.jsonl", tmp_path / "other.jsonl"
    own.write_text("\n".join(json.dumps(r) for r in _labelled(40)) + "\n")
    other.write_text("\n".join(json.dumps(r) for r in _labelled(41)[1:]) + "\n")
    model, _ = train(own)
    detector = AirdropDetector(scam_model=model)
    on_own = bench.main(own, detector)
    assert on_own["evaluation"].startswith("cross-validated") and "shipped_model_on_own_training_file" in on_own
    on_other = bench.main(other, detector)
    assert on_other["evaluation"] == "the shipped detector" and "cross_validated_seeds" not in on_other
    # Two wordings per class, repeated: the model separates them on a file it never saw.
    assert on_other["recall"] == 1.0 and on_other["precision"] == 1.0


def test_reports_the_posts_outside_the_subset_separately(tmp_path):
    rows = [
        {"id": "1", "text": "claim your airdrop", "labels": ["phishing"]},
        {"id": "2", "text": "Send 1 ETH and get 2 ETH back", "labels": ["scam"]},
        {"id": "3", "text": "seed phrase please, a story about nothing", "labels": ["scam"]},
        {"id": "4", "text": "gm, coffee first", "labels": ["clean"]},
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    outside = bench.main(path, AirdropDetector(scam_model=None))["outside_subset"]
    assert outside["posts"] == 3 and outside["positives"] == 2
    assert outside["confusion_matrix"] == {"true_positive": 1, "false_positive": 0, "false_negative": 1,
                                           "true_negative": 1}
    assert outside["recall"] == 0.5 and outside["precision"] == 1.0
