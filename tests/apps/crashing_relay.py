"""An outbox relay that is killed (SIGKILL) right after Kafka acknowledged, before the outbox `$pull`.

Usage: python crashing_relay.py <mongo uri> <database> <kafka bootstrap>
"""

import asyncio
import os
import signal
import sys
from datetime import timedelta

from pymongo import AsyncMongoClient
from roadbranch_shared.metrics import BackboneMetrics
from roadbranch_shared.outbox import OutboxRelay
from roadbranch_shared.service import make_broker, outbox_publisher
from roadbranch_shared.settings import ServiceSettings


class DiesBeforePull(OutboxRelay):
    async def _acknowledge(self, collection, doc_id, published):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGKILL)


async def main(mongo_uri: str, database: str, bootstrap: str) -> None:
    client: AsyncMongoClient[dict] = AsyncMongoClient(mongo_uri, tz_aware=True)
    broker, _ = make_broker("crashing-relay", ServiceSettings(kafka_bootstrap=bootstrap), BackboneMetrics())
    await broker.start()

    relay = DiesBeforePull(
        client[database], ["counters"], outbox_publisher(broker), lease=timedelta(seconds=1)
    )
    await relay.drain_once()
    sys.exit("the relay should have been killed before it could pull")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
