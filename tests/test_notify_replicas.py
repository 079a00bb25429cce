"""Notify as two processes on one database (mongo-java-server, whose filtered updates are atomic as
on MongoDB) and one consumer group: each message reaches its driver once, whichever replica takes
it, even from a provider that sends every request it gets; and with one replica killed with -9
mid-run the other sends what was left, nothing lost and nothing twice at the phone."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from notify_support import EventPublisher, Notify, SmsProviderServer, running
from roadbranch_shared.contracts.roster import ContactPointChanged
from roadbranch_shared.contracts.welfare import NeedFiled
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.mongojava import MongoJavaServer
from roadbranch_shared.devstack.services import start_all
from roadbranch_shared.testing import eventually, reading_from_now

pytestmark = pytest.mark.integration

CST = timezone(timedelta(hours=8))
NOON = datetime(2026, 12, 2, 11, 0, tzinfo=CST)
# Small passes on a provider a little slow to answer, so both replicas take part in one run.
# Heartbeats every 0.5 s: a replica notices the other joining its consumer groups at once.
SETTINGS = {"batch_size": "3", "send_concurrency": "2", "kafka_heartbeat_seconds": "0.5"}


@pytest.fixture
def replicas(
    stack_info: StackInfo, mongo_java: MongoJavaServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Notify, Notify, SmsProviderServer]]:
    sms = SmsProviderServer(honour_keys=request.param)
    sms.delay = 0.05
    with running(sms):
        first = Notify(stack_info, tmp_path, sms=sms, mongo_uri=mongo_java.uri, **SETTINGS)
        second = first.replica(tmp_path / "second.log")
        try:
            with reading_from_now(stack_info):  # not the module's earlier test's events
                # Together: both join each consumer group at once instead of one rebalance after another.
                start_all([first.process, second.process])
            for replica in (first, second):
                replica.set_clock(NOON)  # daytime: nothing waits for the end of quiet hours
            yield first, second, sms
        finally:
            second.stop()
            first.stop()


def drivers(count: int) -> list[tuple[str, str]]:
    run = secrets.token_hex(3)
    return [(f"drv_rep_{run}_{i:02d}", f"1386{secrets.randbelow(10**7):07d}") for i in range(count)]


async def file_needs(stack_info: StackInfo, notify: Notify, people: list[tuple[str, str]]) -> list[str]:
    """Each driver's phone known to notify, then a need filed for each: one message apiece. The
    causes (event ids), in the drivers' order."""
    async with EventPublisher(stack_info.kafka_bootstrap, source="/tests") as events:
        now = datetime.now(CST)
        await events.publish_many(
            [(ContactPointChanged(driver_id=d, phone=p, changed_at=now), d) for d, p in people]
        )

        async def all_known() -> bool:
            return all(notify.knows_contact(d) for d, _ in people)

        await eventually(all_known, timeout=120, message="every driver's phone known to notify")
        filed = await events.publish_many(
            [
                (
                    NeedFiled(
                        need_id=f"need-{d}",
                        driver_id=d,
                        category="road_traffic",
                        urgency="normal",
                        filed_at=now,
                    ),
                    f"need-{d}",
                )
                for d, _ in people
            ]
        )
    return [envelope.id for envelope in filed]


def sent_lines(notify: Notify, causes: list[str]) -> dict[str, list[dict[str, object]]]:
    """Each cause's ledger lines marked sent."""
    return {
        cause: [d for d in notify.ledger(cause=cause)["deliveries"] if d["status"] == "sent"]
        for cause in causes
    }


def sent_by(notify: Notify) -> float:
    return notify.metric("roadbranch_notify_deliveries_total", channel="sms", outcome="sent")


@pytest.mark.parametrize("replicas", [False], ids=["provider_without_keys"], indirect=True)
async def test_two_replicas_on_one_queue_send_each_message_once(
    stack_info: StackInfo, replicas: tuple[Notify, Notify, SmsProviderServer]
) -> None:
    first, second, sms = replicas
    people = drivers(24)
    causes = await file_needs(stack_info, first, people)

    async def all_sent() -> bool:
        return all(len(lines) == 1 for lines in sent_lines(first, causes).values())

    await eventually(all_sent, timeout=120, message="every message marked sent once")
    # A provider that sends every request: a message taken by both replicas would be there twice.
    assert {p: len(sms.to(p)) for _, p in people} == {p: 1 for _, p in people}
    assert sent_by(first) > 0, "the first replica sent some"
    assert sent_by(second) > 0, "the second replica sent some"
    assert sent_by(first) + sent_by(second) >= len(people)


@pytest.mark.parametrize("replicas", [True], ids=["provider_honours_keys"], indirect=True)
async def test_one_replica_killed_mid_run_leaves_nothing_lost_or_twice_at_the_phone(
    stack_info: StackInfo, replicas: tuple[Notify, Notify, SmsProviderServer]
) -> None:
    first, second, sms = replicas
    sms.delay = 0.15
    people = drivers(24)
    causes = await file_needs(stack_info, first, people)

    async def both_under_way() -> bool:
        return sent_by(first) > 0 and sent_by(second) > 0

    await eventually(both_under_way, timeout=120, message="both replicas sending")
    second.kill()  # SIGKILL mid-run: its pass's messages stay leased to it, some perhaps sent
    assert sum(len(sms.to(p)) for _, p in people) < len(people), "killed before the run was over"
    # The dead replica's lease ends after 300 s: the survivor's clock is moved on past it.
    first.set_clock(NOON + timedelta(minutes=10))

    async def all_sent() -> bool:
        return all(len(lines) == 1 for lines in sent_lines(first, causes).values())

    await eventually(all_sent, timeout=180, message="every message marked sent once, by the survivor")
    assert {p: len(sms.to(p)) for _, p in people} == {p: 1 for _, p in people}, "none lost, none twice"
    for cause in causes:  # one ledger line a message, sent, and nothing of it left waiting
        ledger = first.ledger(cause=cause)
        assert [d["status"] for d in ledger["deliveries"]] == ["sent"], cause
        assert ledger["pending"] == [], cause
