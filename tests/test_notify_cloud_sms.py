"""SMS through the cloud providers counties use, Aliyun first and Tencent behind it, each a local
stand-in that checks the request's shape and signature as the real one does (`cloud_sms.py`):
notify sends each message as its approved template with its variables, goes on to Tencent when
Aliyun refuses for a reason of its own, not when it refuses the number, and never sends a message
without an approved template as free text; identity sends the driver's sign-in code the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cloud_sms import AliyunSmsServer, TencentSmsServer, cloud_sms_env
from identity_support import Identity, publish_contact
from notify_support import DAYTIME, EventPublisher, Notify, running
from roadbranch_shared.contracts.welfare import NeedAssigned, NeedFiled, NeedResolved
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.sms_cloud import out_id
from roadbranch_shared.testing import eventually
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration

PEOPLE = synthetic_people("云短信司机", 4, 1970)
# The message templates the county had approved, and where.
TEMPLATES = {
    "need_filed": {"aliyun": "SMS_480101", "tencent": "2280101"},
    "need_resolved": {"tencent": "2280102"},
    "sign_in_code": {"tencent": "2280900"},
}


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[AliyunSmsServer, TencentSmsServer]]:
    aliyun = AliyunSmsServer({"SMS_480101": ["category", "need"]})
    tencent = TencentSmsServer(
        {"2280101": ["category", "need"], "2280102": ["category", "need"], "2280900": ["code", "minutes"]}
    )
    with running(aliyun, tencent):
        yield aliyun, tencent


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running_roster = Roster(stack_info, tmp_path_factory.mktemp("roster")).start()
    yield running_roster
    running_roster.stop()


@pytest.fixture(scope="module")
def phones(roster: Roster) -> dict[str, str]:
    """driver id -> his phone number, in the order of PEOPLE."""
    return roster.phones_of(PEOPLE)


@pytest.fixture(scope="module")
def notify(
    stack_info: StackInfo,
    tmp_path_factory: pytest.TempPathFactory,
    providers: tuple[AliyunSmsServer, TencentSmsServer],
    phones: dict[str, str],
) -> Iterator[Notify]:
    process = Notify(stack_info, tmp_path_factory.mktemp("notify"), drivers=tuple(phones))
    process.process.env.update(cloud_sms_env("ROADBRANCH_NOTIFY", *providers, TEMPLATES))
    process.start()
    process.set_clock(DAYTIME)
    yield process
    process.stop()


@pytest.fixture
async def events(stack_info: StackInfo) -> Any:
    async with EventPublisher(stack_info.kafka_bootstrap, source="/tests/welfare") as publisher:
        yield publisher


def filed(driver_id: str, need_id: str, category: str = "certificate_review") -> NeedFiled:
    return NeedFiled(
        need_id=need_id, driver_id=driver_id, category=category, urgency="normal", filed_at=datetime.now(UTC)
    )


async def ledger_of(notify: Notify, driver: str, template: str, *, done: int = 1) -> list[dict[str, Any]]:
    """The driver's finished ledger lines of `template` once there are `done` sent."""

    async def check() -> list[dict[str, Any]]:
        lines = [d for d in notify.ledger(recipient=driver)["deliveries"] if d["template"] == template]
        return lines if len([d for d in lines if d["status"] == "sent"]) >= done else []

    return await eventually(check, timeout=90, message=f"{template} sent to {driver}")


async def test_a_message_goes_out_as_its_approved_template_with_its_variables(
    notify: Notify, phones: dict[str, str], providers: Any, events: EventPublisher
) -> None:
    aliyun, tencent = providers
    driver, phone = next(iter(phones.items()))
    await eventually(lambda: _async(notify.knows_contact(driver)), message="the roster's contact point")
    await events.publish(filed(driver, "need-000123"), "need-000123")
    [delivery] = await ledger_of(notify, driver, "need_filed")
    assert (delivery["channel"], delivery["status"]) == ("sms", "sent")
    assert delivery["provider_ref"].startswith("aliyun:")
    [message] = aliyun.to(phone)
    assert (message.template, message.params) == ("SMS_480101", {"category": "证件审验", "need": "000123"})
    assert message.label == out_id(delivery["delivery_id"]), "the receipt's OutId names the delivery"
    assert tencent.to(phone) == []


async def test_aliyun_refusing_for_its_own_reason_passes_the_message_to_tencent(
    notify: Notify, phones: dict[str, str], providers: Any, events: EventPublisher
) -> None:
    aliyun, tencent = providers
    driver, phone = list(phones.items())[1]
    await eventually(lambda: _async(notify.knows_contact(driver)), message="the roster's contact point")
    aliyun.busy.add(phone)  # flow control (isv.BUSINESS_LIMIT_CONTROL) for this number at Aliyun
    await events.publish(filed(driver, "need-000456", "medical"), "need-000456")
    [delivery] = await ledger_of(notify, driver, "need_filed")
    assert delivery["provider_ref"].startswith("tencent:")
    assert aliyun.to(phone) == []
    assert "isv.BUSINESS_LIMIT_CONTROL" in aliyun.refusals
    [message] = tencent.to(phone)
    assert (message.template, message.params) == ("2280101", ["就医", "000456"]), "{1}, {2} in order"
    answers = "roadbranch_notify_sms_provider_answers_total"
    assert notify.metric(answers, provider="aliyun", outcome="transient") >= 1, "the failover is seen"
    assert notify.metric(answers, provider="tencent", outcome="sent") >= 1

    # A template approved at Tencent only: Aliyun is not asked.
    before = len(aliyun.refusals)
    resolved_event = NeedResolved(
        need_id="need-000456",
        driver_id=driver,
        category="medical",
        urgency="normal",
        filed_at=datetime.now(UTC),
        resolved_at=datetime.now(UTC),
        within_target=True,
    )
    await events.publish(resolved_event, "need-000456")
    [resolved] = await ledger_of(notify, driver, "need_resolved")
    assert resolved["provider_ref"].startswith("tencent:")
    assert [m.template for m in tencent.to(phone)] == ["2280101", "2280102"]
    assert len(aliyun.refusals) == before


async def test_a_number_refused_is_not_tried_again_at_tencent_and_goes_to_the_inbox(
    notify: Notify, phones: dict[str, str], providers: Any, events: EventPublisher
) -> None:
    aliyun, tencent = providers
    driver, phone = list(phones.items())[2]
    await eventually(lambda: _async(notify.knows_contact(driver)), message="the roster's contact point")
    aliyun.refused.add(phone)  # isv.MOBILE_NUMBER_ILLEGAL: Tencent would refuse it as well
    await events.publish(filed(driver, "need-000789"), "need-000789")
    lines = await ledger_of(notify, driver, "need_filed")
    by_channel = {d["channel"]: d for d in lines}
    assert by_channel["sms"]["status"] == "failed"
    assert by_channel["sms"]["reason"] == "aliyun:isv.MOBILE_NUMBER_ILLEGAL"
    assert by_channel["inbox"]["status"] == "sent"
    assert tencent.to(phone) == []


async def test_a_message_with_no_approved_template_is_never_sent_as_free_text(
    notify: Notify, phones: dict[str, str], providers: Any, events: EventPublisher, stack_info: StackInfo
) -> None:
    aliyun, tencent = providers
    driver = list(phones)[3]
    await eventually(lambda: _async(notify.knows_contact(driver)), message="the roster's contact point")
    sent_before = len(aliyun.sent) + len(tencent.sent)
    # need_assigned_driver has no approved template at either.
    await events.publish(
        NeedAssigned(
            need_id="need-000999",
            driver_id=driver,
            handler_id="handler-1",
            due_at=datetime.now(UTC),
            urgency="normal",
            category="parking_rest",
            assigned_at=datetime.now(UTC),
        ),
        "need-000999",
    )
    lines = await ledger_of(notify, driver, "need_assigned_driver")
    by_channel = {d["channel"]: d for d in lines}
    assert (by_channel["sms"]["status"], by_channel["sms"]["reason"]) == ("failed", "no_template;no_template")
    assert by_channel["inbox"]["status"] == "sent"
    assert len(aliyun.sent) + len(tencent.sent) == sent_before


async def test_identity_sends_the_sign_in_code_through_tencent(
    stack_info: StackInfo, tmp_path: Path, providers: Any
) -> None:
    _, tencent = providers
    phone = "13970009901"
    identity = Identity(
        stack_info, tmp_path, env=cloud_sms_env("ROADBRANCH_IDENTITY", None, tencent, TEMPLATES)
    )
    identity.start()
    try:
        await publish_contact(stack_info, "drv_cloud_sms", phone)

        async def code() -> str | None:
            identity.call("POST", "/v1/driver-codes", json={"phone": phone})
            for _ in range(50):
                if sent := tencent.to(phone):
                    return str(sent[-1].params[0])
                await asyncio.sleep(0.1)
            return None

        got = await eventually(code, timeout=90, message="the code at Tencent")
        [message] = tencent.to(phone)
        assert (message.template, message.params) == ("2280900", [got, "5"])
        signed_in = identity.call("POST", "/v1/driver-sessions", json={"phone": phone, "code": got})
        assert signed_in.status_code == 201, signed_in.text
        assert signed_in.json()["driver_id"] == "drv_cloud_sms"
        assert got not in identity.process.logs()
        assert TencentSmsServer.SECRET_KEY not in identity.process.logs()
    finally:
        identity.stop()


async def _async(value: Any) -> Any:
    return value
