"""Project-wide commands: `impressox demo`, `impressox dev` and `impressox standins`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer

from impressox_pipelines.cli.app import app

REPLAY_HELP = "Replay real captures from this directory (e.g. ../shared/fixtures)."


def _replay_option() -> typer.models.OptionInfo:
    return typer.Option(None, envvar="IMPRESSOX_REPLAY_DIR", help=REPLAY_HELP, exists=True, file_okay=False,
                        resolve_path=True)


@app.command()
def demo(replay_dir: Path | None = _replay_option()) -> None:
    """Run the main job end to end on the embedded defaults against the local stand-ins, then summarise."""
    from impressox_pipelines.demo import run_demo

    raise typer.Exit(run_demo(replay_dir))


@app.command()
def standins(
    replay_dir: Path | None = _replay_option(),
    env_file: Path | None = typer.Option(None, dir_okay=False,
                                         help="Also write the variables to this file (KEY=VALUE lines)."),
) -> None:
    """Serve every local stand-in until interrupted, printing the variables that point clients at them."""
    from impressox_pipelines.standins.launcher import running_standins

    if env_file and not env_file.parent.is_dir():
        raise typer.BadParameter(f"folder {str(env_file.parent)!r} does not exist", param_hint="'--env-file'")

    with running_standins(replay_dir, set_environ=False) as env:
        lines = [f"{key}={value}" for key, value in sorted(env.items())]
        typer.echo("\n".join(lines))
        if env_file:
            env_file.write_text("\n".join(lines) + "\n")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@app.command()
def dev(
    port: int = typer.Option(3000, min=1, max=65535, help="Port of the Dagster UI on 127.0.0.1."),
    replay_dir: Path | None = _replay_option(),
) -> None:
    """Start the stand-ins, then `dagster dev` on 127.0.0.1 with the embedded defaults pointed at them.

    Ctrl-C or SIGTERM stops `dagster dev` (its whole process group) and then the stand-ins.
    """
    from impressox_pipelines.demo import DEMO_BOT_TOKEN
    from impressox_pipelines.standins.launcher import running_standins

    os.environ.setdefault("IMPRESSOX_TELEGRAM_BOT_TOKEN", DEMO_BOT_TOKEN)
    # The `dagster` beside this interpreter: the venv's bin folder need not be on PATH.
    dagster = str(Path(sys.executable).parent / "dagster")
    with running_standins(replay_dir) as env:
        for key, value in sorted(env.items()):
            typer.echo(f"{key}={value}")
        typer.echo(f"Dagster UI: http://127.0.0.1:{port}/asset-groups")
        # A background job of a non-interactive shell inherits an ignored SIGINT, and dagster dev would then
        # never stop: give it the default disposition back.
        proc = subprocess.Popen([dagster, "dev", "-h", "127.0.0.1", "-p", str(port)], start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

        def on_sigterm(*_: object) -> None:
            raise KeyboardInterrupt  # leave the wait below and shut down as on Ctrl-C

        signal.signal(signal.SIGTERM, on_sigterm)
        try:
            proc.wait()
        except KeyboardInterrupt:
            # dagster dev shuts its webserver, daemon and code server down on SIGINT; give it a minute.
            try:
                os.killpg(proc.pid, signal.SIGINT)
                proc.wait(timeout=60)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
