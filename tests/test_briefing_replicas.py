"""The briefing as two processes in one consumer group on one database (mongo-java-server): the
roster's registrations stream in while one replica is killed with -9; the survivor takes over its
partitions and reads on from their last committed offsets, so what the killed one had applied but
not committed comes again (the projection keeps a document per driver, so a repeat changes
nothing). Every driver is counted, once, and nothing is dead-lettered."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from briefing_support import Briefing, EventSource
from replicas import with_a_replica
from roadbranch_shared.contracts.roster import DriverRegistered
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.mongojava import MongoJavaServer
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.testing import eventually, read_topic

pytestmark = pytest.mark.integration

SOURCES = ("freight_company", "freight_platform", "individual")


@pytest.fixture
def replicas(
    stack_info: StackInfo, mongo_java: MongoJavaServer, tmp_path: Path
) -> Iterator[tuple[Briefing, ServiceProcess]]:
    # A county of its own: the topics are the session's, and only this county's drivers count here.
    # Heartbeats every 0.5 s: the replica already in a group notices the other joining at once
    # (each of its ten groups would take up to 3 s).
    first = Briefing(
        stack_info,
        tmp_path,
        f"replica-county-{secrets.token_hex(3)}",
        mongo_uri=mongo_java.uri,
        kafka_heartbeat_seconds="0.5",
    )
    with with_a_replica(first.process, tmp_path / "2.log") as second:
        yield first, second


@pytest.fixture
async def source(stack_info: StackInfo) -> AsyncIterator[EventSource]:
    async with EventSource(stack_info) as events:
        yield events


def _registered(county: str, n: int) -> tuple[str, DriverRegistered]:
    driver_id = f"drv_replica_{secrets.token_hex(6)}"
    return driver_id, DriverRegistered(
        driver_id=driver_id,
        county=county,
        source=SOURCES[n % 3],
        batch_id="imp_replicas",
        registered_at=datetime.now(UTC),
    )


async def test_registrations_through_a_replica_killed_mid_stream_are_each_counted_once(
    replicas: tuple[Briefing, ServiceProcess], source: EventSource, stack_info: StackInfo
) -> None:
    briefing, victim = replicas
    county = briefing.process.env["ROADBRANCH_BRIEFING_COUNTY"]
    drivers = [_registered(county, n) for n in range(300)]

    async def counted(expected: int) -> dict[str, Any] | None:
        found = briefing.figures()["find"]
        return found if found["drivers_checked"] >= expected else None

    # A hundred first, applied by the two (the six partitions split between them) ...
    for driver_id, event in drivers[:100]:
        await source.emit(driver_id, event)
    await eventually(lambda: counted(100), timeout=120, message="the first hundred counted")
    # ... then the rest, with one replica killed while they arrive.
    for n, (driver_id, event) in enumerate(drivers[100:]):
        await source.emit(driver_id, event)
        if n == 40:
            await asyncio.sleep(0.5)  # some of these applied by the victim, its offsets not all committed
            victim.kill()
    found = await eventually(lambda: counted(300), timeout=180, message="every registration counted")
    assert found["drivers_checked"] == 300, "each driver once"
    assert found["drivers_by_source"] == {kind: 100 for kind in SOURCES}
    dead = await read_topic(stack_info.kafka_bootstrap, "roster.driver.v1.dlq")
    mine = {driver_id for driver_id, _ in drivers}
    assert not [r for r in dead if r.key is not None and r.key.decode() in mine], "nothing dead-lettered"
