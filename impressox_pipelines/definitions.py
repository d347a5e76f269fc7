"""The single code location: every asset, check, job, schedule, sensor and resource of the project.

Each field contributes one `Definitions` (its assets, checks, jobs, schedules, sensors and its own
resources); they are merged here with the shared storage resources, chosen for the environment in
`resources.core_resources()`. Loading is deferred to Dagster's load time (`@dg.definitions`), so
nothing reads the environment when this module is imported.
"""

import dagster as dg

from impressox_pipelines.assets.airdrops import airdrops_definitions
from impressox_pipelines.assets.market import market_definitions
from impressox_pipelines.assets.notify import notify_definitions
from impressox_pipelines.assets.ops import ops_definitions
from impressox_pipelines.assets.rag import rag_definitions
from impressox_pipelines.assets.social import x_definitions
from impressox_pipelines.jobs import main_job, main_schedule
from impressox_pipelines.resources import core_resources


def build_definitions() -> dg.Definitions:
    """Assemble the code location (called by Dagster at load time, and directly by tests and the demo)."""
    return dg.Definitions.merge(
        dg.Definitions(
            jobs=[main_job],
            schedules=[main_schedule],
            resources=core_resources(),
            # Steps run one after another in the run's process: the run starts in seconds instead of
            # spawning a process per step, the embedding model and browser load once per run, and the
            # embedded stores see one writer per run. Runs still run in parallel (one process or container each).
            executor=dg.in_process_executor,
        ),
        ops_definitions(),
        market_definitions(),
        notify_definitions(),
        x_definitions(),
        airdrops_definitions(),
        rag_definitions(),
    )


defs = dg.definitions(build_definitions)
