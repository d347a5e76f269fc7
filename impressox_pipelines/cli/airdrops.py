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
    keywords_file: Path | None = typer.Option(None, help="Keywords file (default: the shipped one)."),
    target_accounts_file: Path | None = typer.Option(None, help="Target accounts file (default: the shipped one)."),
    scam_flag_threshold: float | None = typer.Option(None, parser=finite_positive,
                                                     help="Scam risk that flags, > 0 (default: the detector's)."),
    scam_model_file: str = typer.Option("", help="Scam text model file; empty: the shipped one; 'none': rules only."),
) -> None:
    """Read the tweet (and the original it retweets or quotes) from MongoDB; print its score and every reason.

    Exits 1 when the tweet is not stored, 2 when a configuration file cannot be read.
    """
    from impressox_pipelines.airdrops.detector import AirdropDetector
    from impressox_pipelines.airdrops.keywords import KeywordFile
    from impressox_pipelines.airdrops.listfile import ListFileError
    from impressox_pipelines.airdrops.report import explain_lines
    from impressox_pipelines.airdrops.scam import FLAG_THRESHOLD
    from impressox_pipelines.airdrops.scam_model import ScamModelError, configured_model
    from impressox_pipelines.airdrops.targets import TargetAccountsFile
    from impressox_pipelines.connections import open_stores
    from impressox_pipelines.stores import TWEETS_COLLECTION
    from impressox_pipelines.x.models import Tweet

    try:
        keywords, targets = KeywordFile(keywords_file), TargetAccountsFile(target_accounts_file)
        model = configured_model(scam_model_file)
    except (ListFileError, ScamModelError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for note in [*keywords.current().issues, *targets.current().issues]:
        typer.echo(f"note: {note}", err=True)
    threshold = FLAG_THRESHOLD if scam_flag_threshold is None else scam_flag_threshold
    detector = AirdropDetector(keywords, targets, flag_threshold=threshold, scam_model=model)

    with open_stores() as resources:
        tweets = resources.mongo.get_database()[TWEETS_COLLECTION]
        doc = tweets.find_one({"_id": tweet_id})
        if doc is None:
            typer.echo(f"tweet {tweet_id} is not in MongoDB `{TWEETS_COLLECTION}` ({resources.mongo.endpoint})",
                       err=True)
            raise typer.Exit(1)
        tweet = Tweet.from_document(doc)
        original_id = tweet.retweeted_id or tweet.quoted_id
        original_doc = tweets.find_one({"_id": original_id}) if original_id else None
        original = Tweet.from_document(original_doc) if original_doc else None
    if original_id and original is None:
        typer.echo(f"note: the original tweet {original_id} is not stored; explaining the tweet alone", err=True)
    for line in explain_lines(detector.assess(tweet, original), threshold):
        typer.echo(line)


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
