"""The scam text model: a logistic regression over the words of a post and the rules that fired.

The rules in `scam.py` name how a scam steals; many fake-airdrop posts show no single mechanism
clearly and are told apart by their wording ("eligible wallets", "distribution is live", "don't miss").
The model reads both: TF-IDF of word unigrams and bigrams (scikit-learn's `TfidfVectorizer`,
sublinear tf, l2 norm) plus one feature per rule signal that fired and the rules' capped risk, into
scikit-learn's `LogisticRegression` (class-balanced). Its probability flags a post when it reaches
the model's `threshold`; the reason it adds names the terms that weighed most, so a flag stays
explainable.

The model shipped in this package (`scam_model.json`) was trained by `impressox airdrops train-model`
on the janitr labelled X posts (janitrai/janitr, MIT; `scam`/`phishing` versus every other label).
The file is plain JSON (vocabulary, idf, coefficients, metadata): no pickle, so loading it runs no code.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from impressox_pipelines.airdrops.models import Reason

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

FORMAT = 1
SHIPPED_MODEL = Path(__file__).with_name("scam_model.json")
# Word unigrams and bigrams; a token may keep a leading `$`, `#` or `@` (cashtags, hashtags, handles).
TEXT_FEATURES: dict[str, Any] = {
    "ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2, "token_pattern": r"(?u)[$#@]?\b\w[\w']*\b",
}
RISK_CAP = 2.0  # the rules' summed risk enters as min(risk, RISK_CAP)
REGULARIZATION_C = 4.0
DEFAULT_THRESHOLD = 0.35


class ScamModelError(ValueError):
    """The model file is missing, unreadable, or not a model of this format."""


def rule_features(reasons: list[Reason]) -> dict[str, float]:
    """The rules' part of the input: `rule:<signal>` = 1 for each signal that fired, and `rule_risk`."""
    features = {f"rule:{r.signal}": 1.0 for r in reasons}
    features["rule_risk"] = min(sum(r.weight for r in reasons), RISK_CAP)
    return features


@dataclass
class ScamModel:
    """A trained model: `probability(text, reasons)` in [0, 1]; flags at `threshold`.

    `vocabulary[i]` is the term of TF-IDF column i with inverse document frequency `idf[i]` and weight
    `text_weights[i]`; `rule_weights` maps `rule_features` names to weights.
    """

    vocabulary: list[str]
    idf: list[float]
    text_weights: list[float]
    rule_weights: dict[str, float]
    intercept: float
    threshold: float = DEFAULT_THRESHOLD
    metadata: dict[str, Any] = field(default_factory=dict)
    # Where the model was read from and the sha256 of that file's bytes (None for a model built in memory).
    file: str | None = field(default=None, compare=False)
    sha256: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not (len(self.vocabulary) == len(self.idf) == len(self.text_weights)):
            raise ScamModelError("vocabulary, idf and text_weights differ in length")
        if len(set(self.vocabulary)) != len(self.vocabulary):
            raise ScamModelError("vocabulary repeats a term")
        numbers = [*self.idf, *self.text_weights, *self.rule_weights.values(), self.intercept]
        if not all(math.isfinite(x) for x in numbers):
            raise ScamModelError("a weight, idf or the intercept is not a finite number")
        if not 0.0 < self.threshold < 1.0:
            raise ScamModelError(f"threshold must be in (0, 1), got {self.threshold}")
        self._vectorizer: TfidfVectorizer | None = None

    @property
    def vectorizer(self) -> TfidfVectorizer:
        if self._vectorizer is None:
            import numpy as np
            from sklearn.feature_extraction.text import TfidfVectorizer

            vectorizer = TfidfVectorizer(**{**TEXT_FEATURES, "min_df": 1},
                                         vocabulary={t: i for i, t in enumerate(self.vocabulary)})
            vectorizer.idf_ = np.asarray(self.idf, dtype=float)
            self._vectorizer = vectorizer
        return self._vectorizer

    def _contributions(self, text: str, reasons: list[Reason]) -> tuple[float, list[tuple[str, float]]]:
        """The logit, and what each present feature added to it: `'term'` or `rule <signal>` / `rules' risk`."""
        row = self.vectorizer.transform([text])
        parts = [(f"'{self.vocabulary[i]}'", float(v) * self.text_weights[i])
                 for i, v in zip(row.indices, row.data, strict=True)]
        for name, value in rule_features(reasons).items():
            label = f"rule {name.removeprefix('rule:')}" if name.startswith("rule:") else "the rules' risk"
            parts.append((label, value * self.rule_weights.get(name, 0.0)))
        return self.intercept + sum(c for _, c in parts), parts

    def probability(self, text: str, reasons: list[Reason]) -> float:
        """P(scam or phishing) for a post's text and the rule reasons it got."""
        return _sigmoid(self._contributions(text, reasons)[0])

    def reason(self, text: str, reasons: list[Reason], flag_weight: float) -> tuple[float, Reason | None]:
        """The probability, and a `scam_text_model` reason of weight `flag_weight` when it reaches the threshold.

        The reason's detail names the terms and rules that pushed the probability up most.
        """
        logit, parts = self._contributions(text, reasons)
        p = _sigmoid(logit)
        if p < self.threshold:
            return p, None
        top = [label for label, c in sorted(parts, key=lambda lc: -lc[1]) if c > 0][:4]
        return p, Reason("scam_text_model", flag_weight,
                         f"reads like posts labelled scam or phishing: probability {p:.2f} ≥ {self.threshold:g}; "
                         f"weighing most: {', '.join(top) if top else 'nothing in particular (the base rate)'}")

    def to_document(self) -> dict[str, Any]:
        return {"format": FORMAT, "threshold": self.threshold, "intercept": self.intercept,
                "rule_weights": self.rule_weights, "metadata": self.metadata,
                "vocabulary": self.vocabulary, "idf": self.idf, "text_weights": self.text_weights}

    def save(self, path: Path) -> None:
        """Write the model as JSON (atomically: a reader never sees half a file). Raises `OSError`."""
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self.to_document(), ensure_ascii=False, separators=(",", ":")),
                           encoding="utf-8")
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path) -> ScamModel:
        """Read a model file and score one text with it.

        Raises `ScamModelError` naming the file when it is missing, not JSON, of another format, holds a
        value of the wrong type (a term that is not a non-empty lower-case string, a number that is not a
        finite JSON number), or cannot score a text.
        """
        try:
            raw = Path(path).read_bytes()
            doc = json.loads(raw.decode("utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise ScamModelError(f"cannot read scam model {path}: {str(exc)[:200]}") from None
        # `True == 1` in Python: the format must be the JSON integer 1.
        if not isinstance(doc, dict) or type(doc.get("format")) is not int or doc["format"] != FORMAT:
            raise ScamModelError(f"{path} is not a scam model of format {FORMAT}")
        try:
            vocabulary = doc["vocabulary"]
            if not isinstance(vocabulary, list) or not vocabulary or not all(
                    isinstance(t, str) and t and t == t.lower() for t in vocabulary):
                raise TypeError("vocabulary must be a non-empty list of non-empty lower-case strings")
            rule_weights, metadata = doc["rule_weights"], doc.get("metadata") or {}
            if not isinstance(rule_weights, dict) or not isinstance(metadata, dict) \
                    or not isinstance(metadata.get("trained_on") or {}, dict):
                raise TypeError("rule_weights, metadata and metadata.trained_on must be objects")
            model = cls(vocabulary=vocabulary, idf=_numbers("idf", doc["idf"]),
                        text_weights=_numbers("text_weights", doc["text_weights"]),
                        rule_weights={str(k): _number(f"rule_weights.{k}", v) for k, v in rule_weights.items()},
                        intercept=_number("intercept", doc["intercept"]),
                        threshold=_number("threshold", doc["threshold"]), metadata=metadata,
                        file=str(path), sha256=hashlib.sha256(raw).hexdigest())
            model.probability("airdrop claim", [])
        except ScamModelError as exc:
            raise ScamModelError(f"{path} is not a usable scam model: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ScamModelError(f"{path} is not a usable scam model: {type(exc).__name__}: {str(exc)[:200]}") from None
        return model


def _number(name: str, value: Any) -> float:
    """A JSON number as a finite float (`true`, strings and out-of-range integers refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    number = float(value)  # OverflowError for integers beyond a float
    if not math.isfinite(number):
        raise ValueError(f"{name} is not a finite number")
    return number


def _numbers(name: str, values: Any) -> list[float]:
    if not isinstance(values, list):
        raise TypeError(f"{name} must be a list of numbers, got {type(values).__name__}")
    return [_number(name, v) for v in values]


def _sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))


@cache
def shipped_model() -> ScamModel:
    """The model shipped with the package (read once per process)."""
    return ScamModel.load(SHIPPED_MODEL)


def configured_model(setting: str) -> ScamModel | None:
    """The model a setting names: `""` the shipped one, `"none"` no model (rules only), else a model file path.

    Raises `ScamModelError` when the file cannot be used.
    """
    if not setting.strip():
        return shipped_model()
    if setting.strip().lower() == "none":
        return None
    return ScamModel.load(Path(setting))


def fit(texts: list[str], reasons: list[list[Reason]], labels: list[bool], *,
        threshold: float = DEFAULT_THRESHOLD, metadata: dict[str, Any] | None = None) -> ScamModel:
    """Train a model on posts (`texts`), the rule reasons each got, and whether each is a scam.

    Raises `ValueError` when there are no posts, only one class, or too few posts to keep any term.
    """
    if not texts or len(texts) != len(reasons) or len(texts) != len(labels):
        raise ValueError("texts, reasons and labels must be non-empty and of equal length")
    if len(set(labels)) < 2:
        raise ValueError("training needs both scam and non-scam posts")
    import numpy as np
    import scipy.sparse as sp
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(**TEXT_FEATURES)
    try:
        text_matrix = vectorizer.fit_transform(texts)
    except ValueError as exc:  # "empty vocabulary; perhaps the documents only contain stop words"
        raise ValueError(f"no term occurs in two posts or more: {exc}") from None
    rules = DictVectorizer()
    matrix = sp.hstack([text_matrix, rules.fit_transform([rule_features(r) for r in reasons])]).tocsr()
    regression = LogisticRegression(C=REGULARIZATION_C, max_iter=5000, class_weight="balanced")
    regression.fit(matrix, np.asarray(labels, dtype=bool))
    weights = regression.coef_[0]
    n_text = text_matrix.shape[1]
    vocabulary = [""] * n_text
    for term, i in vectorizer.vocabulary_.items():
        vocabulary[i] = term
    return ScamModel(
        vocabulary=vocabulary,
        idf=[round(float(x), 6) for x in vectorizer.idf_],
        text_weights=[round(float(x), 6) for x in weights[:n_text]],
        rule_weights={name: round(float(weights[n_text + i]), 6) for i, name in enumerate(rules.feature_names_)},
        intercept=round(float(regression.intercept_[0]), 6),
        threshold=threshold,
        metadata=metadata or {},
    )
