"""Partitions shared by every daily-partitioned asset, so they can run in one job and backfill together."""

import warnings

from dagster import BetaWarning, DailyPartitionsDefinition

# The daily assets batch their backfills with `BackfillPolicy.multi_run`, which Dagster still marks as
# beta. The choice is deliberate (docs/market.md, docs/x.md), so the warning is silenced here, where
# every one of them imports the partitions, instead of repeating in every run's log.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)

# Daily, in UTC. The start is early enough for the historical captures the demo can replay.
daily_partitions = DailyPartitionsDefinition(start_date="2017-01-01", timezone="UTC", end_offset=1)
