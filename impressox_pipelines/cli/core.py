"""Project-wide commands: `impressox demo` and `impressox standins`."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from impressox_pipelines.cli import app


@app.command()
def demo(
    replay_dir: Path | None = typer.Option(
        None, envvar="IMPRESSOX_REPLAY_DIR", help="Replay real captures from this directory (e.g. ../shared/fixtures)."
    ),
) -> None:
    """Run the main job end to end on the embedded defaults against the local stand-ins, then summarise."""
    from impressox_pipelines.demo import run_demo

    raise typer.Exit(run_demo(replay_dir))


@app.command()
def standins(
    replay_dir: Path | None = typer.Option(None, envvar="IMPRESSOX_REPLAY_DIR", help="Replay real captures."),
    env_file: Path | None = typer.Option(None, help="Also write the variables to this file (KEY=VALUE lines)."),
) -> None:
    """Serve every local stand-in until interrupted, printing the variables that point clients at them."""
    from impressox_pipelines.standins.launcher import running_standins

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
    port: int = typer.Option(3000, help="Port of the Dagster UI on 127.0.0.1."),
    replay_dir: Path | None = typer.Option(None, envvar="IMPRESSOX_REPLAY_DIR", help="Replay real captures."),
) -> None:
    """Start the stand-ins, then `dagster dev` on 127.0.0.1 with the embedded defaults pointed at them."""
    import os
    import subprocess

    from impressox_pipelines.demo import DEMO_BOT_TOKEN
    from impressox_pipelines.standins.launcher import running_standins

    os.environ.setdefault("IMPRESSOX_TELEGRAM_BOT_TOKEN", DEMO_BOT_TOKEN)
    with running_standins(replay_dir) as env:
        for key, value in sorted(env.items()):
            typer.echo(f"{key}={value}")
        typer.echo(f"Dagster UI: http://127.0.0.1:{port}/asset-groups")
        proc = subprocess.Popen(["dagster", "dev", "-h", "127.0.0.1", "-p", str(port)], start_new_session=True)
        try:
            proc.wait()
        except KeyboardInterrupt:
            import signal

            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
