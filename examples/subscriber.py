"""Read a roadbranch topic with aiokafka and the CloudEvents SDK 2.x; print each event once, as JSON.

python examples/subscriber.py BOOTSTRAP TOPIC GROUP  (e.g. kafka:9092 welfare.need.v1 my-reader)
"""

import asyncio
import json
import sys

from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured_event


async def subscribe(kafka: str, topic: str, group: str) -> None:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    seen: set[str] = set()  # delivery is at least once: a repeated id is the same event again
    try:
        async for record in consumer:
            if record.value is not None:  # None is a tombstone: the key's record was erased
                # Structured mode; the SDK adds the record key as the `partitionkey` extension.
                event = from_structured_event(KafkaMessage(dict(record.headers), record.key, record.value))
                if event.get_id() not in seen:
                    seen.add(event.get_id())
                    fields: dict[str, object] = {"type": event.get_type(), "id": event.get_id()}
                    fields |= {"source": event.get_source(), "data": event.get_data()}
                    fields["partitionkey"] = event.get_extension("partitionkey")
                    print(json.dumps(fields, ensure_ascii=False), flush=True)
            await consumer.commit()  # only once the record is handled
    finally:
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(subscribe(*sys.argv[1:4]))
