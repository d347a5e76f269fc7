"""The project-wide job and its schedule: every asset for one daily partition."""

from datetime import timedelta

import dagster as dg

# The main job: every asset of the project for one day (`make demo` runs it for today). Unpartitioned
# assets are materialized whole alongside the day's partitions; the job's partitions are the daily assets'
# (`partitions.daily_partitions`), which Dagster infers from the selection.
main_job = dg.define_asset_job(
    "main_job",
    selection=dg.AssetSelection.all(),
    description="Every asset of the project for one daily partition.",
    # It scrapes X: deploy/dagster.yaml runs one such run per account pool at a time.
    tags={"impressox/x_account_pool": "default"},
)


@dg.schedule(
    job=main_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    description="Hourly: today's partition (re-runs upsert, so the day fills in as it goes); in the first "
    "hour of a day also yesterday's, to close it with its last tweets.",
)
def main_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    now = context.scheduled_execution_time
    days = [now.date()] + ([now.date() - timedelta(days=1)] if now.hour == 0 else [])
    return [
        dg.RunRequest(run_key=f"{day.isoformat()}@{now:%Y-%m-%dT%H:%M}", partition_key=day.isoformat())
        for day in days
    ]
