"""`impressox airdrops explain TWEET_ID` and `impressox airdrops train-model FILE`: the detector from the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from impressox_pipelines.cli.app import app
from impressox_pipelines.cli.params import finite_positive

airdrops_app = typer.Typer(help="Airdrop detection: explain a tweet's score and scam flag; train the scam text model.",
                           no_args_is_help=True)
app.add_typer(airdrops_app, name="airdrops")


@airdrops_app.command("explain")
def explain(
    tweet_id: str = typer.Argument(..., help="The id (`rest_id`) of a tweet stored in MongoDB `tweets`."),
    reassess: bool = typer.Option(False, "--reassess",
                                  help="Also run today's detector on the tweet and say what changed and why."),
    keywords_file: Path | None = typer.Option(None, help="For --reassess (implied): keywords file (default: the "
                                                         "stored decision's, else the shipped one)."),
    target_accounts_file: Path | None = typer.Option(
        None, help="For --reassess (implied): target accounts file (default: the stored decision's, else the "
                   "shipped one)."),
    scam_flag_threshold: float | None = typer.Option(None, parser=finite_positive,
                                                     help="For --reassess (implied): scam risk that flags, > 0 "
                                                          "(default: the stored decision's, else the detector's)."),
    scam_model_file: str | None = typer.Option(None, help="For --reassess (implied): scam text model file; empty: "
                                                          "the shipped one; 'none': rules only (default: the "
                                                          "stored decision's)."),
) -> None:
    """Print the decision stored about the tweet in MongoDB `airdrop_opportunities`: its score, scam risk,
    model probability, every reason, and what produced it (configuration, file hashes, model hash).

    --reassess (implied by any configuration option) runs today's detector — with the stored decision's
    configuration unless an option says otherwise — and says what changed and why. Exits 1 when the tweet
    has no stored decision (or, for --reassess, is not in MongoDB `tweets`), 2 when a configuration file
    cannot be read.
    """
    from impressox_pipelines.airdrops.explain import change_lines, decision_lines, provenance_lines, stored_decisions
    from impressox_pipelines.airdrops.report import explain_lines
    from impressox_pipelines.connections import open_stores
    from impressox_pipelines.stores import OPPORTUNITIES_COLLECTION, TWEETS_COLLECTION

    options = {"keywords_file": keywords_file, "target_accounts_file": target_accounts_file,
               "scam_flag_threshold": scam_flag_threshold, "scam_model_file": scam_model_file}
    reassess = reassess or any(v is not None for v in options.values())
    with open_stores() as resources:
        db = resources.mongo.get_database()
        where = f"({resources.mongo.endpoint})"
        decisions = stored_decisions(db[OPPORTUNITIES_COLLECTION], tweet_id)
        tweet_doc = original_doc = None
        if reassess or not decisions:
            tweet_doc = db[TWEETS_COLLECTION].find_one({"_id": tweet_id})
            original_id = tweet_doc and (tweet_doc.get("retweeted_id") or tweet_doc.get("quoted_id"))
            original_doc = db[TWEETS_COLLECTION].find_one({"_id": original_id}) if original_id else None
    if not decisions:
        if tweet_doc is None:
            typer.echo(f"tweet {tweet_id} not found in MongoDB `{OPPORTUNITIES_COLLECTION}` nor `{TWEETS_COLLECTION}` "
                       f"{where}", err=True)
            raise typer.Exit(1)
        typer.echo(f"tweet {tweet_id}: no decision stored in MongoDB `{OPPORTUNITIES_COLLECTION}` {where}; it is in "
                   f"`{TWEETS_COLLECTION}`, so it was no candidate (no keyword matched) or its day was not assessed"
                   + ("" if reassess else "; `--reassess` assesses it now"), err=True)
        if not reassess:
            raise typer.Exit(1)
    else:
        for line in decision_lines(decisions[0]):
            typer.echo(line)
        if len(decisions) > 1:
            typer.echo("also decided on " + ", ".join(str(d.document.get("partition_date")) for d in decisions[1:])
                       + " (newest shown)")
    if not reassess:
        return
    if tweet_doc is None:
        typer.echo(f"tweet {tweet_id} not found in MongoDB `{TWEETS_COLLECTION}` {where}: cannot reassess it", err=True)
        raise typer.Exit(1)
    stored = decisions[0] if decisions else None
    detector = _reassessing_detector(options, stored.provenance if stored else None)
    assessment, original_missing = _assess(detector, tweet_doc, original_doc)
    provenance = detector.provenance()
    typer.echo("\ntoday's detector:")
    if original_missing:
        typer.echo(f"note: the original tweet {original_missing} is not stored; explaining the tweet alone", err=True)
    for line in [*explain_lines(assessment, detector.flag_threshold), *provenance_lines(provenance)]:
        typer.echo(line)
    for line in change_lines(stored, assessment, provenance) if stored else ["no stored decision to compare with"]:
        typer.echo(line)


def _reassessing_detector(options: dict, stored: dict | None):
    """Today's detector with the stored decision's configuration, each option given overriding it; a stored
    file that no longer exists falls back to the shipped one, with a note. Exits 2 on an unreadable file."""
    from impressox_pipelines.airdrops.detector import AirdropDetector
    from impressox_pipelines.airdrops.keywords import KeywordFile
    from impressox_pipelines.airdrops.listfile import ListFileError
    from impressox_pipelines.airdrops.scam import FLAG_THRESHOLD
    from impressox_pipelines.airdrops.scam_model import SHIPPED_MODEL, ScamModelError, configured_model
    from impressox_pipelines.airdrops.targets import TargetAccountsFile

    stored = stored or {}

    def stored_path(name: str) -> str | None:
        path = stored.get(name)
        if path and not Path(path).is_file():
            typer.echo(f"note: {name.replace('_', ' ')} {path} of the stored decision no longer exists; "
                       f"using the shipped one", err=True)
            return None
        return path

    keywords = options["keywords_file"] or stored_path("keywords_file")
    targets = options["target_accounts_file"] or stored_path("target_accounts_file")
    model_setting = options["scam_model_file"]
    if model_setting is None:
        model_setting = (stored_path("scam_model_file") or "") if stored.get("scam_model_file") else (
            "none" if stored else "")
        if model_setting and Path(model_setting).resolve() == SHIPPED_MODEL.resolve():
            model_setting = ""
    threshold = options["scam_flag_threshold"] or stored.get("scam_flag_threshold") or FLAG_THRESHOLD
    try:
        keyword_file, targets_file = KeywordFile(keywords), TargetAccountsFile(targets)
        model = configured_model(model_setting)
    except (ListFileError, ScamModelError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for note in [*keyword_file.current().issues, *targets_file.current().issues]:
        typer.echo(f"note: {note}", err=True)
    return AirdropDetector(keyword_file, targets_file, flag_threshold=threshold, scam_model=model,
                           include_promoted=bool(stored.get("include_promoted")))


def _assess(detector, tweet_doc: dict, original_doc: dict | None):
    """(assessment, the id of a retweeted/quoted original that is not stored, else None)."""
    from impressox_pipelines.x.models import Tweet

    tweet = Tweet.from_document(tweet_doc)
    original = Tweet.from_document(original_doc) if original_doc else None
    original_id = tweet.retweeted_id or tweet.quoted_id
    return detector.assess(tweet, original), (original_id if original_id and original is None else None)


@airdrops_app.command("train-model")
def train_model(
    labelled_posts: Path = typer.Argument(..., exists=True, dir_okay=False,
                                          help="JSONL of labelled posts in the janitr format (text, labels)."),
    out: Path = typer.Option(..., help="Where to write the model (JSON); the detector reads the shipped one."),
    threshold: float = typer.Option(0.35, min=0.01, max=0.99, help="Probability that flags, in (0, 1)."),
    seeds: int = typer.Option(1, min=1, max=10, help="Cross-validation repeats (different fold splits)."),
) -> None:
    """Train the scam text model on every readable post of LABELLED_POSTS and write it to --out.

    Prints one JSON line: posts, positives and the cross-validated precision/recall (grouped 5-fold)
    for the posts that mention airdrops or claims and for the others. Exits 2 on an unusable file.
    """
    import json

    from impressox_pipelines.airdrops.training import train

    _check_output(out, labelled_posts)
    try:
        model, report = train(labelled_posts, threshold=threshold, seeds=tuple(range(seeds)))
        model.save(out)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({**report, "model": str(out)}))


def _check_output(out: Path, source: Path) -> None:
    """Refuse, before any training, an --out that cannot be written or would overwrite the training file."""
    problem = None
    if not out.name or out.is_dir():
        problem = f"{str(out)!r} is a directory; give a file name"
    elif not out.parent.is_dir():
        problem = f"folder {str(out.parent)!r} does not exist"
    elif not os.access(out.parent, os.W_OK):
        problem = f"folder {str(out.parent)!r} is not writable"
    elif out.exists() and out.resolve() == source.resolve():
        problem = "is the training file itself; give another path"
    if problem:
        raise typer.BadParameter(problem, param_hint="'--out'")
