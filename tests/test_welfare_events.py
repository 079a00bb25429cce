"""Welfare's roster consumers with the real broker: poison records go to the dead-letter topic and the
view goes on; a redelivered event changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from roadbranch_shared.contracts.roster import MemberRejected, MemberVerified
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.events import encode_envelope, new_event
from roadbranch_shared.testing import eventually, read_topic
from roadbranch_shared.topics import ROSTER_MEMBER
from welfare_support import Welfare

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def welfare(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Welfare]:
    running = Welfare(stack_info, tmp_path_factory.mktemp("welfare")).start()
    yield running
    running.stop()


async def publish(bootstrap: str, key: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(ROSTER_MEMBER.name, value, key=key.encode())
    finally:
        await producer.stop()


async def test_poison_member_events_go_to_the_dead_letters_and_later_ones_apply_in_order(
    welfare: Welfare, stack_info: StackInfo
) -> None:
    driver_id = f"drv_poison_{uuid.uuid4().hex[:8]}"
    member_id = "mem_" + driver_id.removeprefix("drv_")
    now = datetime(2026, 11, 28, 8, tzinfo=UTC)
    verified = new_event(
        MemberVerified(member_id=member_id, driver_id=driver_id, method="field_visit", verified_at=now),
        source="/tests",
        subject=member_id,
        seq=2,
    )
    stale = new_event(
        MemberRejected(member_id=member_id, driver_id=driver_id, reason="旧结论", rejected_at=now),
        source="/tests",
        subject=member_id,
        seq=1,
    )
    invalid = (
        encode_envelope(verified).replace(b'"method":"field_visit",', b"").replace(verified.id.encode(), b"x")
    )
    await publish(
        stack_info.kafka_bootstrap,
        member_id,
        [b"{not json", invalid, encode_envelope(verified), encode_envelope(verified), encode_envelope(stale)],
    )

    async def parked() -> list[Any]:
        records = [
            r
            for r in await read_topic(stack_info.kafka_bootstrap, ROSTER_MEMBER.dead_letters.name)
            if r.key == member_id.encode()
        ]
        return records if len(records) == 2 else []

    records = await eventually(parked, message="two dead letters from welfare")
    reasons = [dict((k, v.decode()) for k, v in r.headers)["dlq-reason"] for r in records]
    assert reasons == ["not_json", "payload_invalid"]
    groups = {dict((k, v.decode()) for k, v in r.headers)["dlq-consumer-group"] for r in records}
    assert groups == {welfare.process.env["ROADBRANCH_WELFARE_CONSUMER_GROUP"] + "." + ROSTER_MEMBER.name}

    # The older rejection, delivered last, must not undo the verification.
    welfare.wait_for(lambda: welfare.knows(driver_id, member=True), message="the verification")
    marker = f"drv_after_{uuid.uuid4().hex[:8]}"
    after = new_event(
        MemberVerified(member_id="mem_x", driver_id=marker, method="phone", verified_at=now),
        source="/tests",
        subject="mem_x",
        seq=1,
    )
    await publish(stack_info.kafka_bootstrap, member_id, [encode_envelope(after)])
    welfare.wait_for(
        lambda: welfare.knows(marker, member=True), message="a later event on the same partition"
    )
    assert welfare.knows(driver_id, member=True), "the stale rejection changed nothing"
    assert welfare.call("GET", "/health/ready", "").status_code == 200
