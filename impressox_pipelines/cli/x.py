"""`impressox x parse FILE` and `impressox x accounts`."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import typer

from impressox_pipelines.cli.app import app

x_app = typer.Typer(help="X scraping: parse captured GraphQL responses, inspect the account pool.",
                    no_args_is_help=True)
app.add_typer(x_app, name="x")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@x_app.command("parse")
def parse(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A captured GraphQL response (JSON)."),
    operation: str | None = typer.Option(None, help="The GraphQL operation (guessed from the payload if unset)."),
) -> None:
    """Print one JSON object per line per tweet; skipped positions and failures go to stderr."""
    from impressox_pipelines.x.parser import parse_body

    result = parse_body(file.read_bytes(), operation)
    for tweet in result.tweets:
        sys.stdout.write(json.dumps(asdict(tweet), default=_json_default, ensure_ascii=False) + "\n")
    summary = {"operation": result.operation, "tweets": len(result.tweets), "skipped": dict(result.skipped),
               "failure": result.failure, "top_cursor": result.top_cursor, "bottom_cursor": result.bottom_cursor,
               "show_more_cursors": len(result.show_more_cursors)}
    typer.echo(json.dumps(summary), err=True)
    if result.failure and not result.tweets:
        raise typer.Exit(1)


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
