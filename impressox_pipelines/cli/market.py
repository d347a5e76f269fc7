"""`impressox rules add|list|remove|backtest`: operate price rules with the same engine as the sensor.

The commands open the Redis and MongoDB the code location uses (`connections.open_stores()`, as its
resources do): the embedded stores by default, production ones when their variables are set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import typer

from impressox_pipelines.cli.app import app
from impressox_pipelines.market.rules import Direction
from impressox_pipelines.market.symbols import Pair

DEFAULT_WINDOW_S = 3600

rules_app = typer.Typer(help="Price rules in Redis (the format is in docs/market.md).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@contextmanager
def _stores() -> Iterator[tuple[Any, Any]]:
    """(MongoDB database, Redis client) as configured for the code location (`connections.open_stores`),
    each opened when the command first uses it."""
    from impressox_pipelines.connections import Deferred, open_stores

    with open_stores() as stores:
        yield Deferred(stores.mongo.get_database), Deferred(stores.redis.get_client)


def _decimal(value: str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not a number", param_hint=f"'{option}'") from None


def _pair(symbol: str) -> Pair:
    """`--symbol` as a `Pair`; a malformed one is a usage error naming the option."""
    from impressox_pipelines.market.symbols import SymbolError, parse_pair

    try:
        return parse_pair(symbol)
    except SymbolError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--symbol'") from None


def _day(value: str, option: str) -> date:
    """A `YYYY-MM-DD` day exactly (zero-padded, as partition keys are written): `strptime` would also take
    `2026-1-5` and `date.fromisoformat` `20260105` or `2026-W01-1`, each a second spelling of one day."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, flags=re.ASCII):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise typer.BadParameter(f"{value!r} is not a day (YYYY-MM-DD expected)", param_hint=f"'{option}'")


def _refuse_ignored(kind: str, recurring: bool, given: dict[str, bool]) -> None:
    """Refuse an option the rule would ignore, naming it and the option that makes it meaningless: it is a
    mistake in the command (a forgotten --pct or --recurring), never a silent no-op."""
    if kind != "pct":
        for option, what in (("--window", "window"), ("--direction", "direction")):
            if given[option]:
                raise typer.BadParameter(f"{option} is for --pct rules only; --{kind} fires when the price "
                                         f"crosses the threshold, so it takes no {what}", param_hint=f"'{option}'")
    if not recurring:
        for option in ("--cooldown", "--hysteresis"):
            if given[option]:
                raise typer.BadParameter(f"{option} is for --recurring rules only; a one-shot rule is disabled "
                                         f"when it fires and never re-arms", param_hint=f"'{option}'")


# A RuleError message starts with the rule field it is about (market/rules.py): the option that sets it.
_OPTION_OF_FIELD = {"id": "RULE_ID", "owner_chat_id": "'--owner'", "pct": "'--pct'", "window_s": "'--window'",
                    "cooldown_s": "'--cooldown'", "hysteresis_pct": "'--hysteresis'", "time": "'--expires'"}


@rules_app.command("add")
def add(
    rule_id: str = typer.Argument(..., help="Rule id (letters, digits, _.:-)."),
    owner: str = typer.Option(..., help="Telegram chat id that receives the alert."),
    symbol: str = typer.Option(..., help="Pair or symbol: BTC, BTC/USD, ETH/BTC."),
    above: str | None = typer.Option(None, help="Fire when the price crosses above this."),
    below: str | None = typer.Option(None, help="Fire when the price crosses below this."),
    pct: str | None = typer.Option(None, help="Fire on a move of this many percent within --window."),
    direction: Direction | None = typer.Option(None, help="For --pct: the direction of the move [default: either]."),
    window: int | None = typer.Option(None, help=f"For --pct: window in seconds [default: {DEFAULT_WINDOW_S}]."),
    recurring: bool = typer.Option(False, help="Fire again after re-arming (default: one-shot)."),
    cooldown: int | None = typer.Option(None, help="For --recurring: seconds after firing before the rule may "
                                                   "re-arm [default: 0]."),
    hysteresis: str | None = typer.Option(None, help="For --recurring: percent the price must retreat before "
                                                     "re-arming [default: 0.5]."),
    expires: str | None = typer.Option(None, help="Expiry: ISO-8601 time or epoch seconds."),
    label: str = typer.Option("", help="Free text shown with the alert."),
    disabled: bool = typer.Option(False, help="Store the rule disabled."),
) -> None:
    """Add or replace a rule and index it (an edited rule starts again armed)."""
    from impressox_pipelines.market.index import RuleIndex
    from impressox_pipelines.market.rules import DEFAULT_HYSTERESIS_PCT, Kind, Rule, RuleError, parse_time

    chosen = [(k, v) for k, v in (("above", above), ("below", below), ("pct", pct)) if v is not None]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --above, --below, --pct")
    kind, value = chosen[0]
    _refuse_ignored(kind, recurring, {"--window": window is not None, "--direction": direction is not None,
                                      "--cooldown": cooldown is not None, "--hysteresis": hysteresis is not None})
    pair = _pair(symbol)
    amount = _decimal(value, f"--{kind}")
    hysteresis_pct = DEFAULT_HYSTERESIS_PCT if hysteresis is None else _decimal(hysteresis, "--hysteresis")
    try:
        rule = Rule(
            id=rule_id, owner_chat_id=owner, pair=pair,
            kind=Kind.PCT_CHANGE if kind == "pct" else Kind(kind),
            threshold=amount if kind != "pct" else None,
            pct=amount if kind == "pct" else None,
            direction=(direction or Direction.EITHER) if kind == "pct" else None,
            window_s=(DEFAULT_WINDOW_S if window is None else window) if kind == "pct" else None,
            recurring=recurring, cooldown_s=cooldown or 0, hysteresis_pct=hysteresis_pct,
            expires_at=parse_time(expires) if expires else None, enabled=not disabled, label=label,
        )
    except RuleError as exc:
        field = str(exc).split(" ", 1)[0].rstrip(":")
        raise typer.BadParameter(str(exc), param_hint=_OPTION_OF_FIELD.get(field, f"'--{kind}'")) from None
    if rule.expires_at is not None and rule.expires_at <= datetime.now(UTC):
        raise typer.BadParameter(f"{expires!r} is in the past: the rule would be stored already expired",
                                 param_hint="'--expires'")
    with _stores() as (_, client):
        outcome = RuleIndex(client).put(rule)
    typer.echo(f"{rule.id}: {rule.describe()} → {outcome}")


@rules_app.command("list")
def list_rules(
    owner: str | None = typer.Option(None, help="Only this owner's rules."),
    symbol: str | None = typer.Option(None, help="Only this pair (BTC/USD)."),
) -> None:
    """List rules with their state."""
    from impressox_pipelines.market.index import RuleIndex

    wanted_pair = str(_pair(symbol)) if symbol else None
    shown = 0
    with _stores() as (_, client):
        index = RuleIndex(client)
        for rule_id in index.rule_ids():
            rule, state, problem = index.get(rule_id)
            if rule is None:
                if not owner and not symbol:
                    typer.echo(f"{rule_id}\tINVALID\t{problem}")
                continue
            if (owner and rule.owner_chat_id != owner) or (wanted_pair and str(rule.pair) != wanted_pair):
                continue
            shown += 1
            typer.echo(f"{rule.id}\t{state.status}\tseq={state.seq}\towner={rule.owner_chat_id}\t{rule.describe()}")
    typer.echo(f"{shown} rule(s)")


@rules_app.command("remove")
def remove(rule_id: str = typer.Argument(..., help="Rule id.")) -> None:
    """Delete a rule and take it out of the index."""
    from impressox_pipelines.market.index import RuleIndex

    with _stores() as (_, client):
        existed = RuleIndex(client).remove(rule_id)
    typer.echo(f"{rule_id}: {'removed' if existed else 'not found in Redis (rule hashes impressox:rule:<id>)'}")
    if not existed:
        raise typer.Exit(1)


@rules_app.command("backtest")
def backtest_command(
    rule_id: str = typer.Argument(..., help="Rule id (stored in Redis)."),
    start: str = typer.Option(..., help="First day, YYYY-MM-DD (UTC)."),
    end: str = typer.Option(..., help="Last day, YYYY-MM-DD (UTC), inclusive."),
    interval: str = typer.Option("1m", help="Candle interval stored by price_candles."),
) -> None:
    """Replay a rule over stored `price_candles` closes with the live state machine; print its fires."""
    from impressox_pipelines.market.backtest import backtest
    from impressox_pipelines.market.candles import INTERVAL_MS, stored_closes
    from impressox_pipelines.market.index import RuleIndex
    from impressox_pipelines.stores import PRICE_CANDLES_COLLECTION

    if interval not in INTERVAL_MS:
        raise typer.BadParameter(f"{interval!r} is not one of {', '.join(INTERVAL_MS)}", param_hint="'--interval'")
    first_day, last_day = _day(start, "--start"), _day(end, "--end")
    if last_day < first_day:
        raise typer.BadParameter(f"--end {last_day} is before --start {first_day}", param_hint="'--end'")
    first = datetime.combine(first_day, time(), tzinfo=UTC)
    last = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=UTC)
    with _stores() as (db, client):
        rule, _, problem = RuleIndex(client).get(rule_id)
        if rule is None:
            typer.echo(f"{rule_id}: " + ("not found in Redis (rule hashes impressox:rule:<id>)" if problem == "missing"
                                         else problem), err=True)
            raise typer.Exit(1)
        closes = list(stored_closes(db[PRICE_CANDLES_COLLECTION], str(rule.pair), interval, first, last))
    if not closes:
        typer.echo(f"no {interval} candles of {rule.pair} stored between {first_day} and {last_day}; "
                   f"materialize price_candles for those days first", err=True)
        raise typer.Exit(1)
    from impressox_pipelines.market.rules import Kind

    result = backtest(rule, closes)
    typer.echo(f"{rule.id}: {rule.describe()} over {result.observations} {interval} closes")
    for fire in result.fires:
        # Signed (a fall is negative), against what the rule compared the price with.
        change = ""
        if fire.change_pct is not None:
            since = ("since the previous close" if rule.kind != Kind.PCT_CHANGE
                     else "from the window's low" if fire.change_pct >= 0 else "from the window's high")
            change = f" ({fire.change_pct:+.3f}% {since})"
        typer.echo(f"  fire #{fire.seq} at {fire.at:%Y-%m-%d %H:%M} UTC: {fire.price}{change}")
    typer.echo(f"{len(result.fires)} fire(s); final state {result.final_state.status}")
