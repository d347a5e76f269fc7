"""`impressox x parse FILE`, `impressox x accounts` and `impressox x targets add|remove|list`."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import typer

from impressox_pipelines.cli.app import app

x_app = typer.Typer(help="X scraping: parse captured GraphQL responses, inspect the account pool, manage the "
                         "scrape targets.", no_args_is_help=True)
app.add_typer(x_app, name="x")
targets_app = typer.Typer(help="Scrape targets in MongoDB `x_targets` (as `scrape_target.added` events write "
                               "them); `raw_tweets` scrapes the active ones with its configured targets.",
                          no_args_is_help=True)
x_app.add_typer(targets_app, name="targets")

# The UserTweets family shares one payload shape (`data.user.result.timeline…`), so only the request URL or
# the capture's file name tells them apart.
USER_TIMELINE_FAMILY = ("UserTweets", "UserTweetsAndReplies", "UserMedia")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@x_app.command("parse")
def parse(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A captured GraphQL response (JSON)."),
    operation: str | None = typer.Option(None, help="The GraphQL operation (guessed from the payload if unset)."),
) -> None:
    """Print one JSON object per line per tweet; skipped positions and failures go to stderr, with the
    operation and how it was known (`operation_from`: option, payload, file name or payload shape)."""
    from impressox_pipelines.x.parser import parse_body

    body = file.read_bytes()
    operation, known_from = _operation_of(file, body, operation)
    result = parse_body(body, operation)
    for tweet in result.tweets:
        sys.stdout.write(json.dumps(asdict(tweet), default=_json_default, ensure_ascii=False) + "\n")
    summary = {"operation": result.operation, "operation_from": known_from, "tweets": len(result.tweets),
               "skipped": dict(result.skipped),
               "failure": result.failure, "top_cursor": result.top_cursor, "bottom_cursor": result.bottom_cursor,
               "show_more_cursors": len(result.show_more_cursors)}
    typer.echo(json.dumps(summary), err=True)
    if result.failure and not result.tweets:
        raise typer.Exit(1)


def _operation_of(file: Path, body: bytes, given: str | None) -> tuple[str | None, str | None]:
    """(operation, how it is known): the option; the payload's root path; a known operation's name in the
    file name (`raw_user_tweets.json`); else, for a user timeline, UserTweets — its family shares one shape."""
    from impressox_pipelines.x.parser import OPERATIONS, guess_operation

    if given:
        return given, "option"
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    guessed = guess_operation(payload)
    if guessed:
        return guessed, "payload"
    letters = "".join(ch for ch in file.stem.lower() if ch.isalpha())
    named = [op for op in OPERATIONS if op.lower() in letters]
    if named:
        return max(named, key=len), "file name"
    user = ((payload or {}).get("data") or {}).get("user") if isinstance(payload, dict) else None
    result = (user or {}).get("result") if isinstance(user, dict) else None
    if isinstance(result, dict) and any(key.startswith("timeline") for key in result):
        return USER_TIMELINE_FAMILY[0], (f"payload shape, shared by {', '.join(USER_TIMELINE_FAMILY)} "
                                         "(--operation to be exact)")
    return None, None


@targets_app.command("add")
def add_target(target: str = typer.Argument(..., help="`@handle` for an account, any other text a search query.")
               ) -> None:
    """Add an active scrape target (the same document a `scrape_target.added` event writes)."""
    from impressox_pipelines.connections import open_stores
    from impressox_pipelines.stores import X_TARGETS_COLLECTION
    from impressox_pipelines.x.targets import store_target

    parsed = _target(target)
    with open_stores() as resources:
        new = store_target(resources.mongo.get_database()[X_TARGETS_COLLECTION], parsed)
    typer.echo(f"{parsed.id}: {'added' if new else 'already stored; active'}")


@targets_app.command("remove")
def remove_target(target: str = typer.Argument(..., help="`@handle` or the search query, as added.")) -> None:
    """Mark a scrape target inactive (kept in `x_targets` with `removed_at`). Exit 1 when no active one matches."""
    from impressox_pipelines.connections import open_stores
    from impressox_pipelines.stores import X_TARGETS_COLLECTION
    from impressox_pipelines.x.targets import remove_target as mark_inactive

    parsed = _target(target)
    with open_stores() as resources:
        removed = mark_inactive(resources.mongo.get_database()[X_TARGETS_COLLECTION], parsed)
        where = resources.mongo.endpoint
    if not removed:
        typer.echo(f"{parsed.id}: not found among the active targets in MongoDB `{X_TARGETS_COLLECTION}` ({where})",
                   err=True)
        raise typer.Exit(1)
    typer.echo(f"{parsed.id}: removed (inactive)")


@targets_app.command("list")
def list_targets() -> None:
    """Every stored target: id, active or inactive, when added. The asset's configured targets are not stored
    here (see `raw_tweets`'s `targets` config)."""
    from impressox_pipelines.connections import open_stores
    from impressox_pipelines.stores import X_TARGETS_COLLECTION
    from impressox_pipelines.x.targets import stored_targets

    with open_stores() as resources:
        docs = stored_targets(resources.mongo.get_database()[X_TARGETS_COLLECTION])
    for doc in docs:
        added = doc.get("added_at")
        since = f"\tadded {added:%Y-%m-%d %H:%M}Z" if isinstance(added, datetime) else ""
        typer.echo(f"{doc['_id']}\t{'active' if doc.get('active', True) else 'inactive'}{since}")
    typer.echo(f"{sum(1 for d in docs if d.get('active', True))} active, "
               f"{sum(1 for d in docs if not d.get('active', True))} inactive target(s)")


def _target(text: str):
    from impressox_pipelines.x.targets import ScrapeTarget

    try:
        return ScrapeTarget.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'TARGET'") from None


@x_app.command("accounts")
def accounts(
    reset: str | None = typer.Option(None, help="Put this account back into rotation (active, no locks)."),
) -> None:
    """Show the account pool's shared state (status, reason, locks, proxy, requests); never the cookies."""
    from impressox_pipelines.connections import open_stores
    from impressox_pipelines.connections.x_accounts import ACCOUNTS_VARIABLE, open_account_pool
    from impressox_pipelines.variables import value_if_set

    with open_stores() as stores:
        pool = open_account_pool(stores.mongo.get_database(), value_if_set(ACCOUNTS_VARIABLE), stores.settings.x_url)
        _accounts(pool, reset)


def _accounts(pool, reset: str | None) -> None:
    if reset is not None:
        if not pool.reset(reset):
            typer.echo(f"no account named {reset!r} in the pool", err=True)
            raise typer.Exit(1)
        typer.echo(f"{reset}: back in rotation")
    typer.echo(f"{'account':<24} {'status':<10} {'requests':>8}  {'proxy':>5}  locks / reason")
    for doc in pool.state():
        locks = ", ".join(f"{op} until {until:%Y-%m-%d %H:%M:%S}Z" for op, until in (doc.get("locks") or {}).items()
                          if until)
        proxies = len(pool.accounts[doc["_id"]].proxies)
        proxy = f"{doc.get('proxy_index', 0) % proxies + 1}/{proxies}" if proxies else "-"
        typer.echo(f"{doc['_id']:<24} {doc.get('status', '?'):<10} {doc.get('requests', 0):>8}  {proxy:>5}  "
                   f"{locks or '-'}{' / ' + doc['reason'] if doc.get('reason') else ''}")
