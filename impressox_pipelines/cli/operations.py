"""`impressox doctor`: check every configured dependency and say, one line each, what works.

The checks are derived from the code location itself, so a resource another field adds is checked
without changes here: each resource of `build_definitions()` is initialised through
`dagster.build_resources` (its `setup_for_execution` connects and pings: MongoDB `ping`, Redis `PING`,
Chroma heartbeat), then its `check()` is called when it has one (Telegram `getMe`); a resource with
neither gets a GET of each http(s) URL in its configuration (an API's reachability, e.g. the price
feeds). Beyond the resources: the production configuration, the Dagster instance storage (when
`DAGSTER_HOME` is set), the operators' alert chat, Chromium and the embedding model.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from typing import Any

import typer

from impressox_pipelines.cli.app import app
from impressox_pipelines.cli.params import finite_positive
from impressox_pipelines.connections.errors import describe_endpoint
from impressox_pipelines.operations.alerts import ENV_CHAT_ID
from impressox_pipelines.operations.doctor import (
    Check,
    CheckFailed,
    exit_status,
    format_result,
    probe_chromium,
    probe_http,
    run_check,
)
from impressox_pipelines.operations.redaction import Redactor
from impressox_pipelines.settings import is_production, missing_production_variables


def _summarize(result: Any) -> str:
    if isinstance(result, dict):
        if result.get("username") == "outbox":
            return "no bot token: messages are appended to the outbox file"
        if result.get("username"):
            return f"getMe: @{result['username']}"
    return str(result)[:120] if result not in (None, True) else "ok"


# The path each API answers a health check on, by the resource field that holds its base URL; a base URL
# itself often answers 404 (CoinGecko's `/api/v3`, Binance's host), which must not pass for health.
HEALTH_PATHS = {"coingecko_url": "/ping", "binance_url": "/api/v3/ping"}


def _url_fields(resource: Any) -> list[tuple[str, str]]:
    """(field name, value) of each http(s) URL in a resource's configuration."""
    fields = getattr(type(resource), "model_fields", {})
    values = ((name, getattr(resource, name, None)) for name in fields)
    return [(name, v) for name, v in values if isinstance(v, str) and v.startswith(("http://", "https://"))]


def _http_urls(resource: Any) -> list[str]:
    return [url for _, url in _url_fields(resource)]


def _health_urls(resource: Any) -> list[str]:
    """The URL to GET for each http(s) URL of a resource's configuration: its health endpoint if known."""
    return [url.rstrip("/") + HEALTH_PATHS[name] if name in HEALTH_PATHS else url
            for name, url in _url_fields(resource)]


def _connects_at_setup(resource: Any) -> bool:
    import dagster as dg

    setup = getattr(type(resource), "setup_for_execution", None)
    return setup is not None and setup is not dg.ConfigurableResource.setup_for_execution


def _root_cause(exc: BaseException) -> BaseException:
    """Skip Dagster's wrappers (`DagsterResourceFunctionError`, …) down to the resource's own error."""
    while type(exc).__name__.startswith("Dagster"):
        inner = getattr(exc, "user_exception", None) or exc.__cause__
        if inner is None:
            break
        exc = inner
    return exc


def _resource_probe(key: str, resource: Any):
    def probe() -> str:
        try:
            return _probe_resource(key, resource)
        except Exception as exc:  # noqa: BLE001 - re-raised as the error the resource itself raised
            raise _root_cause(exc) from None

    return probe


def _probe_resource(key: str, resource: Any) -> str:
    import dagster as dg

    with dg.build_resources({key: resource}) as built:
        live = getattr(built, key)
        check = getattr(live, "check", None)
        if callable(check):
            result = check()
            return _summarize(asyncio.run(result) if inspect.isawaitable(result) else result)
        urls = [] if _connects_at_setup(live) else _health_urls(live)
        if urls:
            return "; ".join(f"{describe_endpoint(url)} {probe_http(url)}" for url in urls)
        return "setup_for_execution passed" if _connects_at_setup(live) else "configured (nothing to probe)"


def _resource_target(resource: Any) -> str:
    """Where a resource points, without credentials (EnvVar fields are resolved to describe the host)."""
    from dagster import EnvVar

    fields = getattr(type(resource), "model_fields", {})
    values = {name: getattr(resource, name, None) for name in fields}
    if any(isinstance(value, EnvVar) for value in values.values()):
        try:
            resource = type(resource)(**{
                name: value.get_value() if isinstance(value, EnvVar) else value
                for name, value in values.items() if value is not None
            })
        except Exception:  # noqa: BLE001 - an unset variable: the probe reports it
            return type(resource).__name__
    endpoint = getattr(resource, "endpoint", None)
    if isinstance(endpoint, str):
        return endpoint
    urls = _http_urls(resource)
    return ", ".join(describe_endpoint(url) for url in urls) if urls else type(resource).__name__


def _configuration_probe() -> str:
    missing = missing_production_variables() if is_production() else []
    if missing:
        raise CheckFailed("IMPRESSOX_ENV=prod but unset: " + ", ".join(var.name for var in missing))
    return "production services" if is_production() else "embedded defaults where no service URL is set"


def _dagster_instance_probe() -> str:
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        count = instance.get_runs_count()
        return f"{type(instance.run_storage).__name__}, {count} runs"


def _operator_chat_probe() -> str:
    chat_id = os.environ.get(ENV_CHAT_ID, "").strip()
    if not chat_id:
        raise CheckFailed(f"{ENV_CHAT_ID} is unset: failed runs alert nobody")
    return f"chat {chat_id}"


def build_checks(timeout_s: float) -> list[Check]:
    """Every check for the current environment."""
    checks = [Check("configuration", "IMPRESSOX_ENV=" + (os.environ.get("IMPRESSOX_ENV") or "(unset)"),
                    _configuration_probe, timeout_s=timeout_s)]
    if os.environ.get("DAGSTER_HOME"):
        checks.append(Check("dagster_instance", "DAGSTER_HOME=" + os.environ["DAGSTER_HOME"],
                            _dagster_instance_probe, timeout_s=timeout_s))
    try:
        from impressox_pipelines.definitions import build_definitions

        resources = dict(build_definitions().resources)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check; the other checks still run
        message = Redactor.from_environment()(f"{type(exc).__name__}: {exc}")

        def raise_definitions_error() -> str:
            raise CheckFailed(message)

        checks.append(Check("definitions", "impressox_pipelines.definitions", raise_definitions_error))
        resources = {}
    for key, resource in sorted(resources.items()):
        # Loading the embedding model takes seconds even when healthy; on a busy machine, tens of seconds.
        deadline = max(timeout_s, 120) if key == "embedding_model" else timeout_s
        checks.append(Check(key, _resource_target(resource), _resource_probe(key, resource), timeout_s=deadline))
    checks.append(Check("operator_alerts", ENV_CHAT_ID, _operator_chat_probe, required=is_production()))
    # Chromium is no resource of its own (the X scraper launches it per run): probe the binary directly.
    if "chromium" not in resources:
        checks.append(Check("chromium", "/usr/bin/chromium", probe_chromium, timeout_s=max(timeout_s, 60)))
    return checks


@app.command()
def doctor(
    skip: list[str] = typer.Option([], "--skip", help="Leave out a check by name (repeatable), e.g. chromium."),
    timeout: float = typer.Option(20.0, parser=finite_positive, help="Seconds each service check may take."),
) -> None:
    """Check every configured dependency: one line per check with its latency and verdict.

    Exit status 1 when a required check fails.
    """
    checks = build_checks(timeout)
    # Which checks exist depends on the environment (DAGSTER_HOME, the resources): a name that matches
    # none is most likely a typo, said once, but not an error.
    names = [check.name for check in checks]
    for name in sorted(set(skip) - set(names)):
        typer.echo(f"note: --skip {name} matches no check (checks: {', '.join(names)})", err=True)
    checks = [check for check in checks if check.name not in skip]
    results = []
    for check in checks:
        result = run_check(check)
        results.append(result)
        typer.echo(format_result(result))
    failed = [r.name for r in results if r.verdict == "FAIL"]
    typer.echo(f"{len(results)} checks, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    raise typer.Exit(exit_status(results))
