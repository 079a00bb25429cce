"""Never lost, never doubled: the notify process is killed with SIGKILL after the provider took the
message and before notify marked it sent, then restarted. With a provider that honours the
idempotency key nothing reaches the phone twice; without one, at most once more, and counted."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from notify_support import EventPublisher, Notify, SmsProviderServer, running
from pymongo import AsyncMongoClient
from roadbranch_shared.contracts.roster import ContactPointChanged
from roadbranch_shared.contracts.welfare import NeedFiled
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually

pytestmark = pytest.mark.integration

CST = timezone(timedelta(hours=8))


@pytest.fixture(params=[True, False], ids=["provider_honours_keys", "provider_without_keys"])
def sms(request: pytest.FixtureRequest) -> Iterator[SmsProviderServer]:
    server = SmsProviderServer(honour_keys=request.param)
    with running(server):
        yield server


async def test_a_crash_between_send_and_mark_sends_no_duplicate_or_one_counted(
    stack_info: StackInfo, tmp_path: Path, sms: SmsProviderServer
) -> None:
    notify = Notify(stack_info, tmp_path, sms=sms).start()
    try:
        notify.set_clock(datetime(2026, 12, 2, 11, 0, tzinfo=CST))
        driver_id, phone = f"drv_crash_{secrets.token_hex(3)}", f"1385{secrets.randbelow(10**7):07d}"
        async with EventPublisher(stack_info.kafka_bootstrap, source="/tests") as events:
            # A record as roster wrote it before contact points were sealed: notify still reads it.
            await events.publish(
                ContactPointChanged(driver_id=driver_id, phone=phone, changed_at=datetime.now(CST)), driver_id
            )
            await eventually(lambda: _known(notify, driver_id), message="the contact point")

            sms.hold_only = {phone}
            sms.hold.set()  # the provider takes the message, then keeps its answer back
            need_id = f"need-crash-{secrets.token_hex(3)}"
            envelope = await events.publish(
                NeedFiled(
                    need_id=need_id,
                    driver_id=driver_id,
                    category="road_traffic",
                    urgency="normal",
                    filed_at=datetime.now(CST),
                ),
                need_id,
            )

            async def reached_the_phone() -> int:
                return len(sms.to(phone))

            # Notify reads the session's earlier events too: its message may queue behind theirs.
            await eventually(reached_the_phone, timeout=180, message="the provider to take the message")
            notify.kill()  # SIGKILL: the send happened, the mark did not
        sms.hold.clear()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
        try:
            deliveries = client[notify.database].deliveries
            left = await deliveries.find({"cause": envelope.id}).to_list(None)
            # Messages of the session's earlier events may have been in flight too. A claim the
            # killed process had already written to its socket can still land after the kill, so
            # the count is read until it holds still.
            in_flight = await _settled_count(deliveries, {"status": "sending", "channel": "sms"})
        finally:
            await client.close()
        assert [d["status"] for d in left] == ["sending"], "the crash hit between the send and the mark"
        assert in_flight >= 1

        requests_before = sms.requests
        notify.start()  # same database, same consumer group: it picks up where it died
        # The messages the killed process's pass had taken stay leased to it until the lease ends
        # (300 s): its clock is moved on past that rather than waited for.
        notify.set_clock(datetime(2026, 12, 2, 11, 30, tzinfo=CST))

        async def marked_sent() -> list[dict[str, str]]:
            return [d for d in notify.ledger(cause=envelope.id)["deliveries"] if d["status"] == "sent"]

        [delivery] = await eventually(
            marked_sent, timeout=180, message="the delivery marked sent after the restart"
        )
        assert delivery["attempts"] == 2, "sent once before the crash and once after"
        assert sms.requests > requests_before, "the restart sent it to the provider again"
        duplicates = notify.metric("roadbranch_notify_duplicates_after_crash_total", channel="sms")
        if sms.honour_keys:
            assert len(sms.to(phone)) == 1, "the provider dropped the repeat by its idempotency key"
            assert duplicates == 0
        else:
            assert len(sms.to(phone)) == 2, "without keys the repeat reached the phone once more"

            async def counted() -> float:  # this delivery's resend, at least, is counted
                return notify.metric("roadbranch_notify_duplicates_after_crash_total", channel="sms")

            resent = await eventually(counted, timeout=180, message="the resend after the crash counted")
            # At most one resend for each delivery the crash left in flight. Others of the session's
            # messages may still be held (quiet hours, their own retries), so not all need be counted.
            assert 1 <= resent <= in_flight
        assert len({m.key for m in sms.to(phone)}) == 1, "both tries carried the same key"
    finally:
        notify.stop()


async def _settled_count(collection: Any, query: dict[str, Any]) -> int:
    count = await collection.count_documents(query)
    for _ in range(20):
        await asyncio.sleep(1)
        again = await collection.count_documents(query)
        if again == count:
            return count
        count = again
    return count


async def _known(notify: Notify, driver_id: str) -> bool:
    return notify.knows_contact(driver_id)
