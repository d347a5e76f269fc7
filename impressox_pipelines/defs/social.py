"""X scraping and airdrop detection: `raw_tweets` and `airdrop_opportunities`."""

import dagster as dg

from impressox_pipelines.assets.airdrops import airdrop_opportunities
from impressox_pipelines.assets.social import raw_tweets
from impressox_pipelines.settings import Settings


def social_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(assets=[raw_tweets, airdrop_opportunities])
