"""`impressox notify …` (outbox and dead letters) and `impressox users …` (notification preferences).

Both open the same MongoDB and Redis the code location uses (`connections.open_stores()`, so the embedded stores by
default and production ones when their variables are set).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from impressox_pipelines.cli.app import app

notify_app = typer.Typer(help="The notification outbox and its dead letters.", no_args_is_help=True)
users_app = typer.Typer(help="Users' notification preferences (MongoDB `user_preferences`).", no_args_is_help=True)
app.add_typer(notify_app, name="notify")
app.add_typer(users_app, name="users")


@contextmanager
def _stores() -> Iterator[tuple[Any, Any]]:
    """(MongoDB database, Redis client) as configured for the code location (`connections.open_stores`),
    each opened when the command first uses it."""
    from impressox_pipelines.connections import Deferred, open_stores

    with open_stores() as stores:
        yield Deferred(stores.mongo.get_database), Deferred(stores.redis.get_client)


@notify_app.command()
def redrive(limit: int = typer.Option(1000, min=1, help="Move at most this many dead letters.")) -> None:
    """Move dead-lettered outbox entries back to the outbox; the next delivery run sends their unsent parts."""
    from impressox_pipelines.notify.delivery import redrive as redrive_entries

    with _stores() as (db, client):
        counts = redrive_entries(client, db, limit=limit)
    typer.echo(f"redriven: {counts['redriven']}; left in place (not outbox entries): {counts['left']}; "
               f"unreadable: {counts['unreadable']}")


@notify_app.command("dead-letters")
def dead_letters(limit: int = typer.Option(20, min=1, help="Show at most this many, oldest first.")) -> None:
    """List dead letters: id, source stream, reason."""
    from impressox_pipelines.stores import DEAD_LETTER_STREAM

    with _stores() as (_, client):
        total = client.xlen(DEAD_LETTER_STREAM)
        for entry_id, record in client.xrange(DEAD_LETTER_STREAM, count=limit):
            typer.echo(f"{entry_id}  {record.get('stream')}  {record.get('entry_id')}  {record.get('reason')}")
    typer.echo(f"{total} dead letter(s)")


@notify_app.command()
def send(
    chat_id: str = typer.Argument(..., help="Target chat id (integer) or @channel."),
    text: str = typer.Argument(..., help="Plain text; shown literally (escaped)."),
    key: str = typer.Option(None, help="Idempotency key (default: a new one)."),
) -> None:
    """Put a plain text message in the outbox (delivered by the next delivery run)."""
    import uuid

    from impressox_pipelines.events.outbox import InvalidEntry, enqueue_notification, parse_chat_id

    try:
        target = parse_chat_id(chat_id)
    except InvalidEntry as exc:
        raise typer.BadParameter(str(exc)) from None
    if not text.strip():
        raise typer.BadParameter("the message is empty (Telegram refuses empty text)", param_hint="'TEXT'")
    with _stores() as (_, client):
        entry = enqueue_notification(client, kind="text", idempotency_key=key or f"cli:{uuid.uuid4()}",
                                     payload={"text": text}, chat_id=target)
    typer.echo(f"enqueued {entry}")


# An InvalidPreferences message starts with the field it is about (notify/preferences.py): the option
# that sets it. Longest first, so `quiet_hours.mode` is not taken for `quiet_hours`.
_OPTION_OF_FIELD = {"quiet_hours.mode": "'--quiet-mode'", "quiet_hours": "'--quiet'", "time ": "'--quiet'",
                    "watch_symbols": "'--watch'", "keywords": "'--keywords'", "timezone": "'--timezone'",
                    "chat_id": "'CHAT_ID'"}


def _option_of(message: str) -> str | None:
    return next((option for field, option in _OPTION_OF_FIELD.items() if message.startswith(field)), None)


def _show(prefs: Any) -> str:
    return json.dumps(prefs.to_document(), default=str, ensure_ascii=False)


@users_app.command("set")
def set_preferences(
    chat_id: str = typer.Argument(..., help="Telegram chat id."),
    subscribe: list[str] = typer.Option([], help="Subscribe to a topic: price_alerts, airdrops, digest."),
    unsubscribe: list[str] = typer.Option([], help="Unsubscribe from a topic."),
    keywords: str = typer.Option(None, help="Comma-separated airdrop keywords (empty string clears)."),
    watch: str = typer.Option(None, help="Comma-separated symbols or pairs for the digest (e.g. BTC,ETH/BTC; "
                                         "empty string clears)."),
    timezone: str = typer.Option(None, help="IANA time zone, e.g. Europe/Berlin."),
    digest_hour: int = typer.Option(None, min=0, max=23, help="Local hour of the daily digest."),
    quiet: str = typer.Option(None, help="Quiet hours HH:MM-HH:MM (local), or 'off'."),
    quiet_mode: str = typer.Option("silent", help="During quiet hours: silent or defer (to the digest)."),
    mute: bool = typer.Option(None, "--mute/--unmute", help="Mute or unmute every notification."),
    active: bool = typer.Option(None, "--activate/--deactivate", help="Mark the chat (in)active."),
) -> None:
    """Create or change a chat's preferences (same validation as `preferences.updated` events)."""
    from impressox_pipelines.notify.preferences import InvalidPreferences, PreferenceStore, apply_changes

    changes: dict[str, Any] = {"chat_id": chat_id}
    topics = {t: True for t in subscribe} | {t: False for t in unsubscribe}
    if topics:
        changes["subscriptions"] = topics
    if keywords is not None:
        changes["keywords"] = [k for k in keywords.split(",") if k.strip()]
    if watch is not None:
        changes["watch_symbols"] = [s for s in watch.split(",") if s.strip()]
    if timezone is not None:
        changes["timezone"] = timezone
    if digest_hour is not None:
        changes["digest_hour"] = digest_hour
    if quiet is not None:
        if quiet == "off":
            changes["quiet_hours"] = None
        else:
            start, _, end = quiet.partition("-")
            changes["quiet_hours"] = {"start": start, "end": end, "mode": quiet_mode}
    if mute is not None:
        changes["muted"] = mute
    if active is not None:
        changes["active"] = active
    try:
        # The changes are valid on any stored record once they are valid on the defaults: check them
        # before the stores are opened, so bad input touches nothing.
        apply_changes(None, changes)
    except InvalidPreferences as exc:
        raise typer.BadParameter(str(exc), param_hint=_option_of(str(exc))) from None
    with _stores() as (db, _):
        prefs = PreferenceStore(db).update(changes)
    typer.echo(_show(prefs))


@users_app.command("show")
def show(chat_id: int = typer.Argument(..., help="Telegram chat id.")) -> None:
    """Print a chat's preferences as JSON."""
    from impressox_pipelines.notify.preferences import PreferenceStore

    with _stores() as (db, _):
        prefs = PreferenceStore(db).get(chat_id)
    if prefs is None:
        typer.echo(f"chat {chat_id} not found in MongoDB `user_preferences`", err=True)
        raise typer.Exit(1)
    typer.echo(_show(prefs))


@users_app.command("list")
def list_users(topic: str = typer.Option(None, help="Only active subscribers of this topic.")) -> None:
    """Print every chat's preferences (or a topic's active subscribers), one JSON line each."""
    from impressox_pipelines.notify.preferences import TOPICS, PreferenceStore

    if topic is not None and topic not in TOPICS:
        raise typer.BadParameter(f"{topic!r} is not one of {', '.join(TOPICS)}", param_hint="'--topic'")
    with _stores() as (db, _):
        store = PreferenceStore(db)
        for prefs in store.subscribers(topic) if topic else store.all():
            typer.echo(_show(prefs))
