"""`bench/airdrop_quality.py`: the confusion matrix over janitr-format files (figures are not asserted)."""

from __future__ import annotations

import importlib.util
import json

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
    result = bench.main(path)
    assert result["subset"] == 3 and result["positives"] == 2 and result["unreadable_lines"] == 1
    matrix = result["confusion_matrix"]
    assert matrix == {"true_positive": 1, "false_positive": 0, "false_negative": 1, "true_negative": 1}
    assert result["precision"] == 1.0 and result["recall"] == 0.5


def test_runs_over_the_real_labelled_posts():
    result = bench.main(require_fixture("janitr_x_posts", "sample.jsonl"))
    assert result["subset"] == sum(result["confusion_matrix"].values()) > 50
    assert result["target"] == {"recall": 0.9, "precision": 0.8}


def test_reports_the_posts_outside_the_subset_separately(tmp_path):
    rows = [
        {"id": "1", "text": "claim your airdrop", "labels": ["phishing"]},
        {"id": "2", "text": "Send 1 ETH and get 2 ETH back", "labels": ["scam"]},
        {"id": "3", "text": "seed phrase please, a story about nothing", "labels": ["scam"]},
        {"id": "4", "text": "gm, coffee first", "labels": ["clean"]},
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    outside = bench.main(path)["outside_subset"]
    assert outside["posts"] == 3 and outside["positives"] == 2
    assert outside["confusion_matrix"] == {"true_positive": 1, "false_positive": 0, "false_negative": 1,
                                           "true_negative": 1}
    assert outside["recall"] == 0.5 and outside["precision"] == 1.0
