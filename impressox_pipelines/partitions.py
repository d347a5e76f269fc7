"""Partitions shared by every daily-partitioned asset, so they can run in one job and backfill together."""

from dagster import DailyPartitionsDefinition

# Daily, in UTC. The start is early enough for the historical captures the demo can replay.
daily_partitions = DailyPartitionsDefinition(start_date="2017-01-01", timezone="UTC", end_offset=1)
