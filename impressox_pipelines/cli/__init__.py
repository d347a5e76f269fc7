"""The `impressox` command line: one Typer app with a sub-command group per field."""

import typer

app = typer.Typer(
    name="impressox",
    help="Operate the ImpressoX pipelines: demo, stand-ins, rules, X scraping, airdrops, notifications, RAG.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

from impressox_pipelines.cli import core  # noqa: E402,F401  (registers commands on `app`)
