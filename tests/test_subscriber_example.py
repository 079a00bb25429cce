"""The example subscriber of docs/subscribers.md, run as a reader runs it, on records the relay published.

The records go out the way a service's relay sends them: events staged for an aggregate, turned
into outbox entries (the stored body, the key, `kafka_headers`) and published by `outbox_publisher`
on the project's broker; the first one twice, as after a relay that crashed before removing it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from roadbranch_shared.asyncapi_docs import RECORD_HEADERS
from roadbranch_shared.contracts.roster import DriverRegistered, DriverUpdated
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.events import Envelope, source_of
from roadbranch_shared.metrics import BackboneMetrics
from roadbranch_shared.outbox import outbox_entry, stage_events
from roadbranch_shared.service import make_broker, outbox_publisher
from roadbranch_shared.settings import ServiceSettings
from roadbranch_shared.testing import eventually, read_topic
from roadbranch_shared.topics import ROSTER_DRIVER

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "subscriber.py"

pytestmark = pytest.mark.integration


@dataclass
class Published:
    driver: str  # two events, the first published twice
    other: str  # one event
    events: list[Envelope]


def a_driver() -> str:
    return f"drv_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
async def published(stack_info: StackInfo) -> Published:
    driver, other = a_driver(), a_driver()
    now = datetime.now(UTC)
    source = source_of("roster")
    registered = stage_events(
        [
            DriverRegistered(driver_id=driver, county="meigu", source="individual", registered_at=now),
            DriverUpdated(driver_id=driver, changed=["county"], updated_at=now),
        ],
        source=source,
        subject=driver,
        from_version=0,
    )
    (elsewhere,) = stage_events(
        [DriverRegistered(driver_id=other, county="meigu", source="freight_company", registered_at=now)],
        source=source,
        subject=other,
        from_version=0,
    )
    settings = ServiceSettings(kafka_bootstrap=stack_info.kafka_bootstrap)
    broker, _ = make_broker("subscriber-example", settings, BackboneMetrics())
    publish = outbox_publisher(broker)
    first, second = (outbox_entry(e) for e in registered)
    await broker.start()
    try:
        for entry in (first, first, second, outbox_entry(elsewhere)):
            await publish(entry)
    finally:
        await broker.stop()
    return Published(driver, other, [*registered, elsewhere])


@pytest.fixture
async def example_output(stack_info: StackInfo) -> AsyncIterator[list[dict[str, Any]]]:
    """What `python examples/subscriber.py BOOTSTRAP roster.driver.v1 GROUP` prints, line by line."""
    group = f"subscriber-example-{uuid.uuid4().hex[:8]}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        stack_info.kafka_bootstrap,
        ROSTER_DRIVER.name,
        group,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None
    lines: list[dict[str, Any]] = []

    async def collect() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            lines.append(json.loads(line))

    reading = asyncio.create_task(collect())
    try:
        yield lines
    finally:
        process.terminate()
        await process.wait()
        await reading


async def test_the_example_decodes_each_event_once_with_the_record_key_as_partitionkey(
    published: Published, example_output: list[dict[str, Any]], stack_info: StackInfo
) -> None:
    ours = {published.driver, published.other}
    last_ids = {published.events[1].id, published.events[2].id}  # the last event of each key

    async def printed() -> list[dict[str, Any]]:
        lines = [line for line in example_output if line["partitionkey"] in ours]
        return lines if last_ids <= {line["id"] for line in lines} else []

    lines = await eventually(printed, message="the example printing both drivers' last events")

    # Once each (the first was published twice), in order per key, as the events were made.
    by_key = {key: [line["id"] for line in lines if line["partitionkey"] == key] for key in ours}
    assert by_key == {
        published.driver: [published.events[0].id, published.events[1].id],
        published.other: [published.events[2].id],
    }
    for line, event in zip(
        sorted(lines, key=lambda line: line["id"]), sorted(published.events, key=lambda e: e.id), strict=True
    ):
        assert line == {
            "type": event.type,
            "id": event.id,
            "source": "/roadbranch/roster",
            "partitionkey": event.subject,
            "data": event.data,
        }
    # The partitionkey the SDK reports is the key of the record on the topic.
    keys = {
        dict(record.headers)["ce_id"].decode(): record.key.decode()
        for record in await read_topic(stack_info.kafka_bootstrap, ROSTER_DRIVER.name)
        if record.value is not None and record.key.decode() in ours
    }
    assert {line["id"]: line["partitionkey"] for line in lines} == {
        event.id: keys[event.id] for event in published.events
    }


async def test_a_record_carries_the_documented_headers_and_fast_streams_correlation_id(
    published: Published, stack_info: StackInfo
) -> None:
    records = [
        record
        for record in await read_topic(stack_info.kafka_bootstrap, ROSTER_DRIVER.name)
        if record.key.decode() == published.other
    ]
    (record,) = records
    headers = {name: value.decode() for name, value in record.headers}
    (event,) = [e for e in published.events if e.subject == published.other]
    assert set(headers) == set(RECORD_HEADERS) | {"correlation_id"}
    assert headers["ce_partitionkey"] == record.key.decode() == event.subject
    # FastStream's own header is an id of the publish, not the event's correlation id.
    assert headers["correlation_id"] != event.correlationid
