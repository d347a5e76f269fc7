"""The `impressox` command line: one Typer app with a sub-command group per field."""

import typer

app = typer.Typer(
    name="impressox",
    help="Operate the ImpressoX pipelines: demo, stand-ins, rules, X scraping, airdrops, notifications, RAG.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Each module registers its commands on `app` when imported:
#   airdrops: `impressox airdrops explain`      core: `impressox demo|dev|standins`
#   market: `impressox rules add|list|remove|backtest`
#   notify: `impressox notify …`, `impressox users …`      ops: `impressox doctor`
#   rag: `impressox rag query|reset`             x: `impressox x parse|accounts`
from impressox_pipelines.cli import airdrops, core, market, notify, ops, rag, x  # noqa: E402,F401
