"""The `impressox` command line: one Typer app with a sub-command group per field."""

import typer

app = typer.Typer(
    name="impressox",
    help="Operate the ImpressoX pipelines: demo, stand-ins, rules, X scraping, airdrops, notifications, RAG.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

from impressox_pipelines.cli import core  # noqa: E402,F401  (registers commands on `app`)
from impressox_pipelines.cli import market  # noqa: E402,F401  (`impressox rules add|list|remove|backtest`)
from impressox_pipelines.cli import ops  # noqa: E402,F401  (`impressox doctor`)
from impressox_pipelines.cli import x  # noqa: E402,F401  (`impressox x parse|accounts`)
from impressox_pipelines.cli import notify  # noqa: E402,F401  (`impressox notify …`, `impressox users …`)
from impressox_pipelines.cli import rag  # noqa: E402,F401  (`impressox rag query|reset`)
from impressox_pipelines.cli import airdrops  # noqa: E402,F401  (`impressox airdrops explain`)
