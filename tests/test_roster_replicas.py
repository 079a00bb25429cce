"""The roster as two processes on one database (mongo-java-server, whose filtered updates are atomic
as on MongoDB): a driver list imported through one replica, which is killed with -9 mid-import,
is taken over and finished by the other from the rows it stored, while an overlapping list goes
in through the survivor. Every driver is there once with both lists' provenance where they overlap,
the imports count each row once, every new driver's registration is on its topic, and the sealed
rows are gone."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from replicas import with_a_replica
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.mongojava import MongoJavaServer
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.events import decode_envelope
from roadbranch_shared.kafka_tools import read_topic
from roadbranch_shared.testing import eventually
from roadbranch_shared.topics import ROSTER_DRIVER
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration

# 900 people; the list sent to the replica that is killed holds the first 600 (twelve chunks of
# fifty), the other list the last 600: 300 in both.
PEOPLE = synthetic_people("续导", 900, 1960)
FIRST, SECOND = PEOPLE[:600], PEOPLE[300:]


@pytest.fixture
def replicas(
    stack_info: StackInfo, mongo_java: MongoJavaServer, tmp_path: Path
) -> Iterator[tuple[Roster, ServiceProcess]]:
    first = Roster(
        stack_info,
        tmp_path,
        mongo_uri=mongo_java.uri,
        import_batch_size="50",
        import_heartbeat_seconds="0.5",
        kafka_heartbeat_seconds="0.5",
        relay_lease_seconds="3",  # the killed replica's outbox is taken over after 3 s, not 30
    )
    with with_a_replica(first.process, tmp_path / "2.log") as second:
        yield first, second


def _csv(people: list[tuple[str, str, str]]) -> bytes:
    return "\n".join(["姓名,身份证号,手机号"] + [",".join(p) for p in people]).encode()


def _upload(roster: Roster, url: str, people: list[tuple[str, str, str]], source_name: str) -> dict[str, Any]:
    answer = roster.call(
        "POST",
        "/v1/driver-imports",
        files={"file": (f"{source_name}.csv", _csv(people))},
        data={"source": "freight_company", "source_name": source_name, "legal_basis": "履行法定职责"},
        at=url,
    )
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


async def test_an_import_whose_replica_is_killed_is_finished_by_the_other_each_row_once(
    replicas: tuple[Roster, ServiceProcess], stack_info: StackInfo, mongo_java: MongoJavaServer
) -> None:
    roster, victim = replicas
    survivor = roster.process.url
    killed = _upload(roster, victim.url, FIRST, "被中断的名单")
    # Killed once it has written some of its chunks, long before its last.
    deadline = time.monotonic() + 60
    written = 0
    while written < 150 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        written = roster.call("GET", f"/v1/driver-imports/{killed['batch_id']}").json()["processed_rows"]
    victim.kill()
    at_kill = roster.call("GET", f"/v1/driver-imports/{killed['batch_id']}").json()
    assert at_kill["status"] == "running", at_kill["status"]
    assert 150 <= at_kill["processed_rows"] < len(FIRST), "killed mid-import"
    overlapping = _upload(roster, survivor, SECOND, "重叠的名单")

    async def finished(batch_id: str) -> dict[str, Any] | None:
        batch = roster.call("GET", f"/v1/driver-imports/{batch_id}").json()
        return batch if batch["status"] != "running" else None

    one = await eventually(lambda: finished(killed["batch_id"]), timeout=180, message="the killed import")
    two = await eventually(lambda: finished(overlapping["batch_id"]), timeout=180, message="the other import")
    assert (one["status"], two["status"]) == ("completed", "completed")
    assert one["resumed"] == 1, "taken over once"
    assert one["owner"] != killed["owner"], "by the survivor"
    for batch, rows in ((one, FIRST), (two, SECOND)):
        assert batch["processed_rows"] == len(rows)
        assert (batch["registered"] + batch["updated"], batch["unchanged"]) == (len(rows), 0)
    assert one["registered"] + two["registered"] == len(PEOPLE), "each driver registered by one list"

    db = AsyncMongoClient(mongo_java.uri, tz_aware=True)[roster.database]
    assert await db.driver_keys.count_documents({}) == len(PEOPLE)
    lists = Counter(
        [
            tuple(sorted(s["batch_id"] for s in d["sources"]))
            async for d in db.drivers.find({}, {"sources": 1})
        ]
    )
    both = tuple(sorted((killed["batch_id"], overlapping["batch_id"])))
    assert lists == {(killed["batch_id"],): 300, both: 300, (overlapping["batch_id"],): 300}
    assert await db.driver_import_rows.count_documents({}) == 0, "the sealed rows are deleted"
    drivers = {d["_id"] async for d in db.drivers.find({}, {"_id": 1})}

    async def every_registration_published() -> Counter[str] | None:
        records = await read_topic(stack_info.kafka_bootstrap, ROSTER_DRIVER.name)
        # At least once: a registration staged by the killed replica may be published twice, with
        # one event id; consumers drop the repeat.
        ids: dict[str, set[str]] = {}
        for record in records:
            event = decode_envelope(record.value) if record.value is not None else None
            if event and event.subject in drivers and event.type.endswith("driver.registered.v1"):
                ids.setdefault(event.subject, set()).add(event.id)
        return Counter(len(found) for found in ids.values()) if len(ids) == len(drivers) else None

    published = await eventually(every_registration_published, timeout=120, message="every registration")
    assert published == {1: len(PEOPLE)}, "one registration event per driver"
