"""Training and cross-validating the scam text model on labelled posts in the janitr JSONL format.

A row is `{"text": str, "labels": [str, ...], "id"/"source_id": ..., "urls": [...]}` (janitrai/janitr
`data/sample.jsonl`); a post is positive when it carries a `scam` or `phishing` label. The rows carry
no author data, so the account rules (new, impersonating, few followers) never fire here.

Cross-validation keeps near-duplicates together (`near_duplicate_key`: the text without links, handles,
addresses and numbers), so a template posted a hundred times cannot be learned in one fold and
"predicted" in another.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from impressox_pipelines.airdrops.models import Reason
from impressox_pipelines.airdrops.scam_model import DEFAULT_THRESHOLD, ScamModel, fit
from impressox_pipelines.x.models import Tweet

POSITIVE_LABELS = frozenset({"scam", "phishing"})
# The posts `bench/airdrop_quality.py` scores: those that mention airdrops or claims.
MENTIONS_AIRDROP = re.compile(r"(?<!\w)(air[\s-]?drop\w*|claim\w*)", re.IGNORECASE)
FOLDS = 5


@dataclass(frozen=True)
class LabelledPost:
    tweet: Tweet
    positive: bool
    mentions_airdrop: bool


def post_to_tweet(row: dict[str, Any], line_no: int) -> Tweet:
    """A janitr row as the scraper's Tweet record (text and links only: the rows have no author data)."""
    urls = row.get("urls") if isinstance(row.get("urls"), list) else []
    return Tweet(
        id=str(row.get("source_id") or row.get("id") or line_no), author_id="", author_handle="", author_name="",
        created_at=datetime.now(UTC), text=row.get("text") or "", urls=[u for u in urls if isinstance(u, str)],
    )


def read_labelled_posts(path: Path) -> tuple[list[LabelledPost], int]:
    """The file's posts and the number of lines that are not a UTF-8 JSON object with a string `text` and
    a list `labels` (a UTF-8 byte-order mark at the start is ignored).

    Raises `OSError` (e.g. `IsADirectoryError`) when the file cannot be opened.
    """
    posts: list[LabelledPost] = []
    unreadable = 0
    with Path(path).open("rb") as lines:
        for line_no, raw in enumerate(lines, start=1):
            if line_no == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
                text, labels = row["text"], row["labels"]
            except (ValueError, KeyError, TypeError, RecursionError):  # UnicodeDecodeError is a ValueError
                unreadable += 1
                continue
            if not isinstance(text, str) or not isinstance(labels, list):
                unreadable += 1
                continue
            posts.append(LabelledPost(post_to_tweet(row, line_no), bool(POSITIVE_LABELS & {str(x) for x in labels}),
                                      bool(MENTIONS_AIRDROP.search(text))))
    return posts, unreadable


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def text_key(text: str) -> str:
    """A short hash of the text with case and whitespace runs ignored: which posts a model has seen."""
    return hashlib.blake2b(" ".join(text.casefold().split()).encode("utf-8"), digest_size=8).hexdigest()


def near_duplicate_key(text: str) -> str:
    """The first 40 letters of the text without links, handles, hex addresses and digits, lower-cased."""
    text = re.sub(r"https?://\S+|@\w+|0x[0-9a-f]+|\d+", "", text.lower())
    return re.sub(r"\W+", " ", text).strip()[:40]


def rule_reasons(posts: list[LabelledPost]) -> list[list[Reason]]:
    """Each post's scam reasons from the rules alone (the shipped keywords and targets, no model)."""
    from impressox_pipelines.airdrops.detector import AirdropDetector

    detector = AirdropDetector(scam_model=None)
    return [detector.assess(p.tweet).scam_reasons for p in posts]


def cross_validated_probabilities(posts: list[LabelledPost], reasons: list[list[Reason]], *,
                                  seed: int = 0, folds: int = FOLDS) -> list[float]:
    """Out-of-fold probabilities: each post scored by a model trained on the folds that do not hold it.

    Folds are stratified by label and keep near-duplicates together (scikit-learn `StratifiedGroupKFold`).
    Raises `ValueError` when there are fewer distinct posts than folds.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    labels = [p.positive for p in posts]
    keys: dict[str, int] = {}
    groups = [keys.setdefault(near_duplicate_key(p.tweet.text), len(keys)) for p in posts]
    if len(keys) < folds:
        raise ValueError(f"only {len(keys)} distinct posts (near-duplicates counted once); "
                         f"{folds}-fold cross-validation needs at least {folds}")
    texts = [p.tweet.text for p in posts]
    out = [0.0] * len(posts)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(texts, labels, groups):
        model = fit([texts[i] for i in train], [reasons[i] for i in train], [labels[i] for i in train])
        for i in test:
            out[i] = model.probability(texts[i], reasons[i])
    return out


def confusion(flags: list[bool], labels: list[bool]) -> dict[str, Any]:
    """Precision, recall and the confusion matrix of `flags` against `labels`."""
    tp = sum(f and y for f, y in zip(flags, labels, strict=True))
    fp = sum(f and not y for f, y in zip(flags, labels, strict=True))
    fn = sum(y and not f for f, y in zip(flags, labels, strict=True))
    tn = len(flags) - tp - fp - fn
    return {"precision": round(tp / (tp + fp), 3) if tp + fp else 0.0,
            "recall": round(tp / (tp + fn), 3) if tp + fn else 0.0,
            "confusion_matrix": {"true_positive": tp, "false_positive": fp, "false_negative": fn,
                                 "true_negative": tn}}


def cross_validated_figures(posts: list[LabelledPost], reasons: list[list[Reason]], *, threshold: float,
                            flag_threshold: float, seed: int = 0) -> dict[str, Any]:
    """Flag = rules' risk ≥ `flag_threshold` or out-of-fold probability ≥ `threshold`, as the detector decides.

    Figures for the airdrop/claim posts and for the others, separately.
    """
    probabilities = cross_validated_probabilities(posts, reasons, seed=seed)
    flags = [sum(r.weight for r in rs) >= flag_threshold or p >= threshold
             for rs, p in zip(reasons, probabilities, strict=True)]
    parts: dict[str, Any] = {"seed": seed, "folds": FOLDS}
    for name, wanted in (("airdrop_posts", True), ("other_posts", False)):
        idx = [i for i, p in enumerate(posts) if p.mentions_airdrop == wanted]
        parts[name] = {"posts": len(idx), **confusion([flags[i] for i in idx], [posts[i].positive for i in idx])}
    return parts


def train(path: Path, *, threshold: float = DEFAULT_THRESHOLD, seeds: tuple[int, ...] = (0,),
          flag_threshold: float = 1.0) -> tuple[ScamModel, dict[str, Any]]:
    """Train on every readable post of `path`; report cross-validated figures for each seed.

    Raises `ValueError` when the file has too few posts, fewer than 5 of a class or of distinct texts,
    `OSError` when unreadable.
    """
    posts, unreadable = read_labelled_posts(path)
    if len(posts) < 2 * FOLDS:
        raise ValueError(f"{path}: {len(posts)} readable posts; training needs at least {2 * FOLDS}")
    scams = sum(p.positive for p in posts)
    if min(scams, len(posts) - scams) < FOLDS:
        raise ValueError(f"{path}: {scams} scam/phishing and {len(posts) - scams} other posts; "
                         f"{FOLDS}-fold cross-validation needs at least {FOLDS} of each")
    reasons = rule_reasons(posts)
    report = {
        "file": str(path), "posts": len(posts), "positives": sum(p.positive for p in posts),
        "unreadable_lines": unreadable, "threshold": threshold,
        "cross_validated": [cross_validated_figures(posts, reasons, threshold=threshold,
                                                    flag_threshold=flag_threshold, seed=s) for s in seeds],
    }
    import sklearn

    metadata = {
        "trained_on": {"file": Path(path).name, "sha256": file_sha256(path), "posts": len(posts),
                       "positives": report["positives"], "positive_labels": sorted(POSITIVE_LABELS),
                       # So a benchmark can tell posts the model has seen (`text_key`) from new ones.
                       "text_keys": sorted({text_key(p.tweet.text) for p in posts})},
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scikit_learn": sklearn.__version__,
        "cross_validated": report["cross_validated"],
    }
    model = fit([p.tweet.text for p in posts], reasons, [p.positive for p in posts],
                threshold=threshold, metadata=metadata)
    report["terms"] = len(model.vocabulary)
    return model, report
