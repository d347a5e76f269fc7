"""The `impressox` command line: one Typer app with a sub-command group per field."""

import typer

# Each module registers its commands on `app` when imported:
#   airdrops: `impressox airdrops explain`      core: `impressox demo|dev|standins`
#   market: `impressox rules add|list|remove|backtest`
#   notify: `impressox notify …`, `impressox users …`      operations: `impressox doctor`
#   rag: `impressox rag query|reset`             x: `impressox x parse|accounts|targets`
from impressox_pipelines.cli import airdrops, core, market, notify, operations, rag, x  # noqa: F401
from impressox_pipelines.cli.app import app


def _setup_error(exc: BaseException) -> BaseException | None:
    """The configuration or connection error behind `exc` (Dagster wraps resource errors), if any."""
    from impressox_pipelines.connections.errors import ResourceSetupError
    from impressox_pipelines.settings import ConfigurationError

    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (ResourceSetupError, ConfigurationError)):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def main() -> None:
    """The console script: a configuration or connection error is one clear line and exit status 2."""
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - only setup errors are turned into a message; others re-raise
        cause = _setup_error(exc)
        if cause is None:
            raise
        typer.echo(f"impressox: {cause}", err=True)
        raise SystemExit(2) from None
