"""Freshness checks: a last-update check per asset whose data must keep arriving.

Freshness is declared here against asset keys, so each field keeps sole ownership of its assets:
`build_last_update_freshness_checks` fails a check when an asset (any of its partitions) has not been
materialized within its window, and `freshness_checks_sensor` evaluates the checks as their windows
lapse. The windows follow each asset's cadence: prices every minute, scraping and embedding daily.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import dagster as dg

# Asset key -> the longest time without a new materialization before the asset counts as stale.
FRESHNESS_WINDOWS: dict[str, timedelta] = {
    # Snapshots are due every 60 s; ten missed polls mean the price feed or its schedule is broken.
    "price_snapshots": timedelta(minutes=10),
    # Each day's partition is scraped during the day; six hours without one means the scraper broke.
    "raw_tweets": timedelta(hours=6),
    # Embeddings follow raw_tweets; they may lag it by one scraping cycle.
    "tweet_embeddings": timedelta(hours=12),
}


def freshness_checks() -> list[dg.AssetChecksDefinition]:
    """One last-update freshness check per entry of `FRESHNESS_WINDOWS` (severity WARN)."""
    with warnings.catch_warnings():
        # Dagster now prefers FreshnessPolicy objects attached to the asset definitions themselves;
        # checks by key keep every asset's definition in its owner's module (SupersessionWarning is a
        # FutureWarning).
        warnings.simplefilter("ignore", category=FutureWarning)
        return [
            check
            for key, window in FRESHNESS_WINDOWS.items()
            for check in dg.build_last_update_freshness_checks(
                assets=[dg.AssetKey(key)], lower_bound_delta=window, severity=dg.AssetCheckSeverity.WARN
            )
        ]
