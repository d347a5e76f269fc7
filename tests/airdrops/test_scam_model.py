"""The scam text model: training, persistence, its reason in the detector, bad model files and bad training data."""

from __future__ import annotations

import json
import math
import re

import pytest
from typer.testing import CliRunner

from impressox_pipelines.airdrops import scam as scam_rules
from impressox_pipelines.airdrops.detector import AirdropDetector
from impressox_pipelines.airdrops.models import Reason
from impressox_pipelines.airdrops.scam_model import (
    ScamModel,
    ScamModelError,
    configured_model,
    fit,
    rule_features,
    shipped_model,
)
from impressox_pipelines.airdrops.training import read_labelled_posts, train
from impressox_pipelines.cli import app
from tests.helpers.airdrops import KEYWORDS, TARGETS, tweet

SCAMS = ["free airdrop claim now connect wallet {} hurry limited",
         "eligible wallets claim the {} airdrop now before it ends, connect wallet",
         "airdrop live, claim {} tokens instantly, verify wallet fast"]
LEGIT = ["the {} team shared the airdrop snapshot date in the docs",
         "vesting schedule for {} contributors is in the governance forum",
         "{} snapshot and claim details are in the official docs next week"]
NAMES = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "lambda", "iota", "rho"]


def corpus() -> tuple[list[str], list[list[Reason]], list[bool]]:
    texts = [t.format(n) for n in NAMES for t in SCAMS] + [t.format(n) for n in NAMES for t in LEGIT]
    labels = [True] * (len(NAMES) * len(SCAMS)) + [False] * (len(NAMES) * len(LEGIT))
    return texts, [[] for _ in texts], labels


@pytest.fixture(scope="module")
def model() -> ScamModel:
    return fit(*corpus(), threshold=0.5)


def write_jsonl(path, texts, labels) -> None:
    path.write_text("".join(json.dumps({"id": str(i), "text": t, "labels": ["scam"] if y else ["clean"]}) + "\n"
                            for i, (t, y) in enumerate(zip(texts, labels, strict=True))))


def test_the_model_separates_the_wordings_it_learned(model):
    scam = model.probability("claim the airdrop now, connect wallet, hurry", [])
    legit = model.probability("the airdrop snapshot date is in the docs", [])
    assert 0.0 <= legit < 0.5 <= scam <= 1.0


def test_rules_that_fired_enter_as_features():
    assert rule_features([Reason("seed_phrase_request", 1.0, "x"), Reason("urgency_bait", 0.3, "y")]) == {
        "rule:seed_phrase_request": 1.0, "rule:urgency_bait": 1.0, "rule_risk": 1.3}
    assert rule_features([Reason("a", 5.0, "")])["rule_risk"] == 2.0  # capped
    texts, _, labels = corpus()
    # A rule signal that only scams carry gets a positive weight.
    reasons = [[Reason("wallet_connect_request", 0.6, "x")] if y else [] for y in labels]
    trained = fit(texts, reasons, labels)
    assert trained.rule_weights["rule:wallet_connect_request"] > 0


def test_save_and_load_give_the_same_probabilities(model, tmp_path):
    path = tmp_path / "model.json"
    model.save(path)
    loaded = ScamModel.load(path)
    assert loaded.threshold == model.threshold and loaded.vocabulary == model.vocabulary
    for text in ["claim now connect wallet", "snapshot in the docs", "", "🚀🚀🚀", "空投 领取"]:
        assert loaded.probability(text, []) == model.probability(text, [])
    assert json.loads(path.read_text())["format"] == 1  # plain JSON, no pickle
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read scam model"),
    ("not json", "cannot read scam model"),
    ("[1, 2]", "is not a scam model of format 1"),
    ('{"format": 1, "vocabulary": ["a"]}', "KeyError"),
    ('{"format": 1, "vocabulary": ["a", "b"], "idf": [1.0], "text_weights": [0.5], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 0.5}', "differ in length"),
    ('{"format": 1, "vocabulary": ["a"], "idf": [1], "text_weights": [1], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 1.5}', "threshold must be in (0, 1)"),
    ('{"format": 1, "vocabulary": ["a", "a"], "idf": [1, 1], "text_weights": [1, 1], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 0.5}', "repeats a term"),
    ('{"format": 1, "vocabulary": ["a"], "idf": [1], "text_weights": [NaN], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 0.5}', "not a finite number"),
    ('{"format": 1, "vocabulary": ["a"], "idf": [1], "text_weights": [1], "rule_weights": [],'
     ' "intercept": 0.0, "threshold": 0.5}', "must be objects"),
    ('{"format": 1, "vocabulary": [], "idf": [], "text_weights": [], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 0.5}', "non-empty list"),
    ('{"format": 1, "vocabulary": "ab", "idf": [1, 1], "text_weights": [1, 1], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 0.5}', "non-empty list"),
    ('{"format": 1, "vocabulary": ["Claim"], "idf": [1], "text_weights": [1], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 0.5}', "lower-case"),
    ('{"format": 1, "vocabulary": ["a"], "idf": "1", "text_weights": [1], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 0.5}', "idf must be a list of numbers"),
    ('{"format": 1, "vocabulary": ["a"], "idf": [true], "text_weights": [1], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 0.5}', "idf must be a number"),
    ('{"format": 1, "vocabulary": ["a"], "idf": [1], "text_weights": [1], "rule_weights": {},'
     ' "intercept": 1' + "0" * 400 + ', "threshold": 0.5}', "OverflowError"),
    ('{"format": true, "vocabulary": ["a"], "idf": [1], "text_weights": [1], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 0.5}', "is not a scam model of format 1"),
    ('{"format": 1, "vocabulary": ["a"], "idf": [1], "text_weights": [1], "rule_weights": {},'
     ' "intercept": 0.0, "threshold": 0.5, "metadata": {"trained_on": "x"}}', "must be objects"),
    ("[" * 100_000 + "]" * 100_000, "cannot read scam model"),
])
def test_a_bad_model_file_is_a_clear_error_naming_it(tmp_path, content, message):
    path = tmp_path / "model.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ScamModelError, match=re.escape(message)):
        ScamModel.load(path)


@pytest.mark.parametrize(("texts", "labels", "message"), [
    ([], [], "non-empty"),
    (["a b", "c d"], [True, True], "both scam and non-scam"),
    (["alpha", "beta"], [True, False], "no term occurs in two posts"),
])
def test_training_refuses_data_it_cannot_learn_from(texts, labels, message):
    with pytest.raises(ValueError, match=message):
        fit(texts, [[] for _ in texts], labels)


def test_a_setting_names_the_shipped_model_none_or_a_file(model, tmp_path):
    assert configured_model("") is shipped_model() and configured_model("  ") is shipped_model()
    assert configured_model("none") is None and configured_model("None") is None
    model.save(tmp_path / "m.json")
    assert configured_model(str(tmp_path / "m.json")).vocabulary == model.vocabulary
    with pytest.raises(ScamModelError, match="cannot read scam model"):
        configured_model(str(tmp_path / "absent.json"))


def test_hostile_text_gets_a_finite_probability(model):
    for text in ["x" * 200_000, "\u202e\u200b" * 1000, "$" * 5000, "claim " * 20_000, "\x00\x01"]:
        p = model.probability(text, [])
        assert math.isfinite(p) and 0.0 <= p <= 1.0


def test_the_detector_adds_the_models_reason_with_the_terms_that_weighed_most(model):
    detector = AirdropDetector(KEYWORDS, TARGETS, scam_model=model)
    a = detector.assess(tweet("Free airdrop! claim now and connect wallet, hurry, limited"))
    reason = next(r for r in a.scam_reasons if r.signal == "scam_text_model")
    assert a.scam_flag and reason.weight == detector.flag_threshold
    assert a.scam_probability >= model.threshold
    assert "'connect wallet'" in reason.detail or "'hurry'" in reason.detail
    assert "weighing most: " in reason.detail
    calm = detector.assess(tweet("The airdrop snapshot date is in the docs"))
    assert calm.scam_probability < model.threshold
    assert not any(r.signal == "scam_text_model" for r in calm.scam_reasons)


def test_a_target_accounts_own_post_is_never_flagged_by_the_model_alone(model):
    detector = AirdropDetector(KEYWORDS, TARGETS, scam_model=model)
    text = "The airdrop is live: eligible wallets claim now, it ends soon"
    rules_alone = AirdropDetector(KEYWORDS, TARGETS, scam_model=None).assess(tweet(text, author_handle="arbitrum"))
    assert not rules_alone.scam_flag  # the premise: the rules alone do not flag it
    official = detector.assess(tweet(text, author_handle="arbitrum"))
    stranger = detector.assess(tweet(text))
    assert official.scam_probability == stranger.scam_probability >= model.threshold
    assert stranger.scam_flag and not official.scam_flag


@pytest.mark.parametrize(("text", "flagged"), [
    ("Arbitrum airdrop: the snapshot was taken on March 1st; claims open March 23 at arbitrum.foundation", False),
    ("The $JUP airdrop claim is live at jup.ag until March 31. Check eligibility in the docs.", False),
    ("🚨 $ARB airdrop is LIVE! Eligible wallets can claim now at arb-claim.xyz before it ends ⏳", True),
])
def test_the_shipped_detector_on_clear_cases(shipped_detector, text, flagged):
    a = shipped_detector.assess(tweet(text))
    assert a.scam_flag is flagged, [str(r) for r in a.scam_reasons]
    assert a.scam_probability is not None


def test_a_retweet_of_a_target_is_read_as_its_post_and_a_quote_by_its_own_words(model):
    detector = AirdropDetector(KEYWORDS, TARGETS, scam_model=model)
    words = "The airdrop is live: eligible wallets claim now, it ends soon"
    original = tweet(words, author_handle="arbitrum")
    retweet = detector.assess(tweet(f"RT @arbitrum: {words}", retweeted_id=original.id), original)
    calm_quote = detector.assess(tweet("snapshot details are in the docs", quoted_id=original.id), original)
    bait_quote = detector.assess(tweet("claim now, connect wallet, hurry", quoted_id=original.id), original)
    assert retweet.scam_probability >= model.threshold and not retweet.scam_flag
    assert calm_quote.scam_probability < model.threshold and not calm_quote.scam_flag
    assert bait_quote.scam_flag and any(r.signal == "scam_text_model" for r in bait_quote.scam_reasons)


def test_a_short_quote_of_an_official_post_is_not_judged_by_the_rules_the_original_set_off():
    # A model that weighs the rules heavily: any rule firing would flag a post by itself.
    texts, _, labels = corpus()
    reasons = [[Reason("urgency_bait", 0.4, "x"), Reason("claim_call_to_action", 0.4, "y")] if y else []
               for y in labels]
    heavy = fit(texts, reasons, labels, threshold=0.5)
    detector = AirdropDetector(KEYWORDS, TARGETS, scam_model=heavy)
    original = tweet("The airdrop is live! Claim now, don't miss it, it ends soon", author_handle="arbitrum")
    assert {"urgency_bait", "claim_call_to_action"} <= {r.signal for r in detector.assess(original).scam_reasons}
    for words in ("wow", "gm", "🔥🔥", "thanks team"):
        quote = detector.assess(tweet(words, quoted_id=original.id), original)
        assert not any(r.signal == "scam_text_model" for r in quote.scam_reasons), words


def test_a_retweet_of_a_target_whose_original_is_not_stored_is_read_as_the_targets_post(model):
    detector = AirdropDetector(KEYWORDS, TARGETS, scam_model=model)
    words = "RT @arbitrum: The airdrop is live: eligible wallets claim now, it ends soon"
    official = detector.assess(tweet(words, retweeted_id="1"))
    stranger = detector.assess(tweet(words.replace("@arbitrum", "@arb_airdrops"), retweeted_id="1"))
    assert official.scam_probability >= model.threshold and not official.scam_flag
    assert stranger.scam_flag


def test_rules_only_when_no_model_is_given():
    a = AirdropDetector(KEYWORDS, TARGETS, scam_model=None).assess(tweet("claim the airdrop now, connect wallet"))
    assert a.scam_probability is None and not any(r.signal == "scam_text_model" for r in a.scam_reasons)


def test_the_shipped_model_loads_and_knows_what_it_was_trained_on():
    model = shipped_model()
    trained_on = model.metadata["trained_on"]
    assert trained_on["positive_labels"] == ["phishing", "scam"]
    assert re.fullmatch(r"[0-9a-f]{64}", trained_on["sha256"]) and trained_on["posts"] > 1000
    assert 0 < model.threshold < 1 and len(model.vocabulary) > 1000


def test_every_rule_the_shipped_model_weighs_still_exists():
    """A renamed or removed rule leaves its weight unused: retrain (`impressox airdrops train-model`)."""
    source = open(scam_rules.__file__, encoding="utf-8").read()
    names = [n.removeprefix("rule:") for n in shipped_model().rule_weights if n.startswith("rule:")]
    assert names and all(f'"{n}"' in source for n in names), [n for n in names if f'"{n}"' not in source]


def test_training_from_a_file_is_reproducible_and_reports_cross_validated_figures(tmp_path):
    texts, _, labels = corpus()
    path = tmp_path / "posts.jsonl"
    write_jsonl(path, texts, labels)
    first, report = train(path, threshold=0.5)
    second, _ = train(path, threshold=0.5)
    assert first.text_weights == second.text_weights and first.rule_weights == second.rule_weights
    assert report["posts"] == len(texts) and report["positives"] == sum(labels)
    cv = report["cross_validated"][0]
    assert cv["airdrop_posts"]["posts"] + cv["other_posts"]["posts"] == len(texts)
    assert first.metadata["trained_on"]["posts"] == len(texts)


def test_training_needs_five_posts_of_each_class(tmp_path):
    texts, _, labels = corpus()
    keep = [i for i, y in enumerate(labels) if not y][:30] + [labels.index(True)]
    path = tmp_path / "posts.jsonl"
    write_jsonl(path, [texts[i] for i in keep], [labels[i] for i in keep])
    with pytest.raises(ValueError, match="1 scam/phishing and 30 other posts; 5-fold cross-validation needs"):
        train(path)


def test_training_needs_enough_distinct_posts(tmp_path):
    path = tmp_path / "posts.jsonl"
    write_jsonl(path, ["claim now 1", "claim now 2", "docs 3", "docs 4"] * 5, [True, True, False, False] * 5)
    with pytest.raises(ValueError, match="distinct posts"):
        train(path)


def test_reading_labelled_posts_counts_unreadable_lines(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "claim it", "labels": ["phishing"]}\nnot json\n{"text": 5, "labels": []}\n'
                     b'{"text": "gm", "labels": "clean"}\n{"text": "caf\xe9", "labels": []}\n\n'
                     b'{"text": "gm", "labels": ["clean"]}\n')
    posts, unreadable = read_labelled_posts(path)
    assert unreadable == 4 and [(p.positive, p.mentions_airdrop) for p in posts] == [(True, True), (False, False)]


def test_cli_trains_and_writes_a_model(tmp_path):
    texts, _, labels = corpus()
    posts, out = tmp_path / "posts.jsonl", tmp_path / "model.json"
    write_jsonl(posts, texts, labels)
    result = CliRunner().invoke(app, ["airdrops", "train-model", str(posts), "--out", str(out), "--threshold", "0.5"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["model"] == str(out) and ScamModel.load(out).threshold == 0.5


@pytest.mark.parametrize(("out", "message"), [
    ("missing/model.json", "does not exist"),
    (".", "is a directory"),
    ("", "is a directory"),
    ("posts.jsonl", "is the training file itself"),
])
def test_cli_refuses_an_unusable_out_before_training(tmp_path, monkeypatch, out, message):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    texts, _, labels = corpus()
    write_jsonl(work / "posts.jsonl", texts, labels)
    before = (work / "posts.jsonl").read_bytes()
    result = CliRunner().invoke(app, ["airdrops", "train-model", "posts.jsonl", "--out", out])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert (work / "posts.jsonl").read_bytes() == before
    assert sorted(p.name for p in work.iterdir()) == ["posts.jsonl"]


def test_cli_refuses_an_unusable_training_file_in_one_line(tmp_path):
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"text": "only one", "labels": ["scam"]}\n')
    result = CliRunner().invoke(app, ["airdrops", "train-model", str(posts), "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 2 and "training needs at least" in result.stderr
    assert not (tmp_path / "m.json").exists()
