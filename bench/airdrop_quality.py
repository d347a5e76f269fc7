"""Scam-flag quality of the airdrop detector on labelled real X posts.

Usage: .venv/bin/python bench/airdrop_quality.py [FILE]

FILE is JSONL in the janitr format (`text`, `labels`, optional `urls`, `id`); default
`../shared/fixtures/janitr_x_posts/sample.jsonl` beside the repository. Over the posts that mention
airdrops or claims (`airdrop`, `air drop`, `claim…` as words), a post is positive when labelled `scam`
or `phishing`; the prediction is `Assessment.scam_flag`. Prints one JSON line with the subset size,
precision, recall and the confusion matrix, against the target recall >= 0.9 with precision >= 0.8.
The posts carry no author data, so the account rules (new, impersonating, few followers) cannot fire.

The detector is the rules plus the shipped scam text model, whose metadata lists the training file's
sha256 and a hash of every training text (`training.text_key`: case and whitespace ignored). Scoring
posts the model was trained on would grade it on its own homework, so:
- when FILE is the training file, or at least half of its posts are training texts (a copy with lines
  removed or spaces added), the headline figures are cross-validated on FILE: every post is scored by a
  model trained the same way on the folds that do not hold it or its near-duplicates (5 folds, three
  fold splits; the first is the headline, `cross_validated_seeds` lists all three), and the in-sample
  figures are printed apart (`shipped_model_on_seen_posts`, not a measurement);
- otherwise the headline measures the shipped detector on the posts it has not seen; the ones it has
  (`seen_in_training`) are left out of it and `including_seen` gives the figures with them.

`rules_only` gives the figures of the rules without the model; `outside_subset` the figures over the
other posts of the file (no airdrop/claim mention; scam/phishing versus every other label). Exit 2 with
one JSON error line when FILE cannot be read or holds no readable post.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from impressox_pipelines.airdrops.detector import AirdropDetector  # noqa: E402
from impressox_pipelines.airdrops.training import (  # noqa: E402
    confusion,
    cross_validated_figures,
    file_sha256,
    read_labelled_posts,
    text_key,
)

DEFAULT_FILE = REPO.parent / "shared" / "fixtures" / "janitr_x_posts" / "sample.jsonl"
TARGET = {"recall": 0.9, "precision": 0.8}
SEEDS = (0, 1, 2)


def _split(posts, flags) -> tuple[dict, dict]:
    inside = [i for i, p in enumerate(posts) if p.mentions_airdrop]
    outside = [i for i, p in enumerate(posts) if not p.mentions_airdrop]
    fig = [confusion([flags[i] for i in idx], [posts[i].positive for i in idx]) for idx in (inside, outside)]
    return fig[0], {"posts": len(outside), "positives": sum(posts[i].positive for i in outside), **fig[1]}


def _subset(posts) -> dict:
    return {"subset": sum(p.mentions_airdrop for p in posts),
            "positives": sum(p.positive for p in posts if p.mentions_airdrop)}


def main(path: Path, detector: AirdropDetector | None = None) -> dict:
    """The figures for `path`; `detector` defaults to the shipped one (rules + shipped model).

    Raises `OSError` when the file cannot be read, `ValueError` when it holds no readable post.
    """
    detector = detector or AirdropDetector()
    started = time.perf_counter()
    posts, unreadable = read_labelled_posts(path)
    if not posts:
        raise ValueError(f"{path}: no readable post ({unreadable} unreadable lines)")
    assessments = [detector.assess(p.tweet) for p in posts]
    model = detector.scam_model
    rule_reasons = [[r for r in a.scam_reasons if r.signal != "scam_text_model"] for a in assessments]
    rule_flags = [sum(r.weight for r in rs) >= detector.flag_threshold for rs in rule_reasons]
    shipped_flags = [a.scam_flag for a in assessments]
    trained_on = model.metadata.get("trained_on", {}) if model is not None else {}
    known = set(trained_on.get("text_keys") or [])
    seen = [text_key(p.tweet.text) in known for p in posts]
    training_file = model is not None and (trained_on.get("sha256") == file_sha256(path) or 2 * sum(seen) >= len(posts))

    result: dict = {"benchmark": "airdrop_quality", "file": str(path), **_subset(posts)}
    outside = _split(posts, shipped_flags)[1]
    if training_file:
        runs = [cross_validated_figures(posts, rule_reasons, threshold=model.threshold,
                                        flag_threshold=detector.flag_threshold, seed=s) for s in SEEDS]
        result["evaluation"] = "cross-validated: the shipped model was trained on (most of) this file"
        result["shipped_model_on_seen_posts"] = {**_split(posts, shipped_flags)[0],
                                                 "note": "in-sample, not a measurement"}
        headline = {k: runs[0]["airdrop_posts"][k] for k in ("precision", "recall", "confusion_matrix")}
        outside = {"positives": outside["positives"], **runs[0]["other_posts"]}
        result["cross_validated_seeds"] = [
            {"seed": r["seed"], "precision": r["airdrop_posts"]["precision"], "recall": r["airdrop_posts"]["recall"]}
            for r in runs]
    else:
        new = [i for i in range(len(posts)) if not seen[i]]
        result["evaluation"] = ("the shipped detector on posts it was not trained on" if model is not None
                                else "rules only")
        result["seen_in_training"] = sum(seen)
        if any(seen):
            result["including_seen"] = {**_subset(posts), **_split(posts, shipped_flags)[0]}
            result.update(_subset([posts[i] for i in new]))
        headline = _split([posts[i] for i in new], [shipped_flags[i] for i in new])[0]
    recall, precision = headline["recall"], headline["precision"]
    result.update({
        **headline,
        "ratio": {"recall": round(recall / TARGET["recall"], 3),
                  "precision": round(precision / TARGET["precision"], 3)},
        "target": TARGET,
        "met": recall >= TARGET["recall"] and precision >= TARGET["precision"],
        "flag_threshold": detector.flag_threshold,
        "model_threshold": model.threshold if model is not None else None,
        "rules_only": _split(posts, rule_flags)[0],
        "outside_subset": outside,
        "unreadable_lines": unreadable,
        "seconds": round(time.perf_counter() - started, 2),
    })
    return result


if __name__ == "__main__":
    file = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FILE
    if not file.exists():
        print(json.dumps({"benchmark": "airdrop_quality", "error": f"{file} not found"}))
        sys.exit(2)
    try:
        print(json.dumps(main(file)))
    except (OSError, ValueError) as exc:
        print(json.dumps({"benchmark": "airdrop_quality", "error": str(exc)}))
        sys.exit(2)
