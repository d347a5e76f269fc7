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
from impressox_pipelines.partitions import daily_partitions
from impressox_pipelines.resources import core_resources

# The main job: every asset of the project for one day (`make demo` runs it for today). Unpartitioned
# assets are materialized whole alongside the day's partitions.
main_job = dg.define_asset_job(
    "main_job",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Every asset of the project for one daily partition.",
)


def build_definitions() -> dg.Definitions:
    """Assemble the code location (called by Dagster at load time, and directly by tests and the demo)."""
    return dg.Definitions.merge(
        dg.Definitions(jobs=[main_job], resources=core_resources()),
        ops_definitions(),
        market_definitions(),
        notify_definitions(),
        x_definitions(),
        airdrops_definitions(),
        rag_definitions(),
    )


defs = dg.definitions(build_definitions)
