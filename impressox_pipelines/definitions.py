"""The single code location: every asset, check, job, schedule, sensor and resource of the project.

Each field contributes one `Definitions` (its assets, checks, jobs, schedules, sensors and its own
resources); they are merged here with the shared storage resources, chosen for the environment in
`resources.core_resources()`. Loading is deferred to Dagster's load time (`@dg.definitions`), so
nothing reads the environment when this module is imported.
"""

import dagster as dg

from impressox_pipelines.resources import core_resources


def build_definitions() -> dg.Definitions:
    """Assemble the code location (called by Dagster at load time, and directly by tests and the demo)."""
    return dg.Definitions.merge(
        dg.Definitions(resources=core_resources()),
    )


defs = dg.definitions(build_definitions)
