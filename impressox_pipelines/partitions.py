"""Partitions shared by every daily-partitioned asset, so they can run in one job and backfill together.

The first day is `IMPRESSOX_PARTITIONS_START` (YYYY-MM-DD, default 2025-01-01), read once when the assets
are defined: Dagster needs the partitions when it decorates them, so a new start date takes effect when
the code location (re)loads. Set an earlier one to backfill older captures (the replayed 2017 candles).
"""

import warnings

from dagster import BetaWarning, DailyPartitionsDefinition

from impressox_pipelines.settings import load_settings

# The daily assets batch their backfills with `BackfillPolicy.multi_run`, which Dagster still marks as
# beta. The choice is deliberate (docs/market.md, docs/x.md), so the warning is silenced here, where
# every one of them imports the partitions, instead of repeating in every run's log.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)

# Daily, in UTC, through tomorrow (`end_offset=1`: a day's partition exists while the day runs).
daily_partitions = DailyPartitionsDefinition(start_date=load_settings().partitions_start.isoformat(), timezone="UTC",
                                             end_offset=1)
