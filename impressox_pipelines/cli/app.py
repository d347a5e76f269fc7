"""The `impressox` Typer app; each command module of `cli/` registers its commands on it."""

import typer

app = typer.Typer(
    name="impressox",
    help="Operate the ImpressoX pipelines: demo, stand-ins, rules, X scraping, airdrops, notifications, RAG.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # click's plain format: a usage error is ONE line (`Error: Invalid value for '--x': …`), never a box
    # wrapped to the terminal's width.
    rich_markup_mode=None,
)
