"""The single code location: every asset, check, job, schedule, sensor and resource of the project.

Each field's `Definitions` comes from `impressox_pipelines.defs`; they are merged here with the
resources that `resources.build_resources()` chooses for the settings. Loading is deferred to Dagster's
load time (`@dg.definitions`), so nothing reads the environment when this module is imported.
"""

import warnings

import dagster as dg

from impressox_pipelines.defs.market import market_definitions
from impressox_pipelines.defs.notify import notify_definitions
from impressox_pipelines.defs.operations import operations_definitions
from impressox_pipelines.defs.rag import rag_definitions
from impressox_pipelines.defs.social import social_definitions
from impressox_pipelines.jobs.main import main_job, main_schedule
from impressox_pipelines.resources import build_resources
from impressox_pipelines.settings import load_settings

# Dagster itself passes its beta `owners` parameter when it binds each sensor to its jobs (none of our
# sensors sets owners): a warning about Dagster's own call, in every process that loads the location.
warnings.filterwarnings("ignore", message="Parameter `owners` of initializer `SensorDefinition.__init__`",
                        category=dg.BetaWarning)


def build_definitions() -> dg.Definitions:
    """Assemble the code location (called by Dagster at load time, and directly by tests and the demo)."""
    settings = load_settings()
    return dg.Definitions.merge(
        dg.Definitions(
            jobs=[main_job],
            schedules=[main_schedule],
            resources=build_resources(settings),
            # Steps run one after another in the run's process: the run starts in seconds instead of
            # spawning a process per step, the embedding model and browser load once per run, and the
            # embedded stores see one writer per run. Runs still run in parallel (one process or container each).
            executor=dg.in_process_executor,
        ),
        operations_definitions(settings),
        market_definitions(settings),
        notify_definitions(settings),
        social_definitions(settings),
        rag_definitions(settings),
    )


defs = dg.definitions(build_definitions)
