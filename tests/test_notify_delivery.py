"""Notify's channels through real servers: contact points from a real roster process, events on the
real broker, an SMS provider, WeChat Work's application-message API and an SMTP server on local ports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from notify_support import (
    DAYTIME,
    EventPublisher,
    Notify,
    SmsProviderServer,
    SmtpServer,
    WeChatWorkServer,
    running,
)
from pymongo import AsyncMongoClient
from roadbranch_shared.contracts.welfare import NeedAssigned, NeedFiled, NeedResolved
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.pii import PiiDecryptError, PiiKeys, decrypt
from roadbranch_shared.testing import eventually, read_topic
from roadbranch_shared.topics import NOTIFY_DELIVERY, WELFARE_NEED
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration

PEOPLE = synthetic_people("通知司机", 6, 1969)
WECHAT_USER = "wx_trucker_01"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[SmsProviderServer, WeChatWorkServer, SmtpServer]]:
    sms, wechat, smtp = SmsProviderServer(), WeChatWorkServer(users={WECHAT_USER}), SmtpServer()
    with running(sms, wechat, smtp):
        yield sms, wechat, smtp


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running_roster = Roster(stack_info, tmp_path_factory.mktemp("roster")).start()
    yield running_roster
    running_roster.stop()


@pytest.fixture(scope="module")
def phones(roster: Roster) -> dict[str, str]:
    """driver id -> his phone number, for the drivers the roster imported."""
    return roster.phones_of(PEOPLE)


@pytest.fixture(scope="module")
def drivers(phones: dict[str, str]) -> list[str]:
    ids = sorted(phones)
    assert len(ids) == len(PEOPLE)
    return ids


@pytest.fixture(scope="module")
def notify(
    stack_info: StackInfo,
    tmp_path_factory: pytest.TempPathFactory,
    servers: tuple[SmsProviderServer, WeChatWorkServer, SmtpServer],
    drivers: list[str],
) -> Iterator[Notify]:
    sms, wechat, smtp = servers
    process = Notify(
        stack_info,
        tmp_path_factory.mktemp("notify"),
        sms=sms,
        wechat=wechat,
        smtp=smtp,
        drivers=tuple(drivers),
        max_attempts="4",
    ).start()
    process.set_clock(DAYTIME)
    yield process
    process.stop()


@pytest.fixture
async def events(stack_info: StackInfo) -> Any:
    async with EventPublisher(stack_info.kafka_bootstrap, source="/tests/welfare") as publisher:
        yield publisher


def need_filed(driver_id: str, need_id: str, category: str = "certificate_review") -> NeedFiled:
    return NeedFiled(
        need_id=need_id, driver_id=driver_id, category=category, urgency="normal", filed_at=datetime.now(UTC)
    )


async def sent_to(notify: Notify, recipient: str, template: str, count: int = 1) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]]:
        found = notify.sent(recipient, template)
        return found if len(found) >= count else []

    return await eventually(check, timeout=90, message=f"{count} {template} sent to {recipient}")


async def test_a_filed_need_reaches_the_driver_by_sms_with_no_personal_data_on_the_topic(
    notify: Notify, drivers: list[str], phones: dict[str, str], servers: Any, events: EventPublisher
) -> None:
    sms, _, _ = servers
    driver = drivers[0]
    await eventually(lambda: _async(notify.knows_contact(driver)), message="the roster's contact point")
    envelope = await events.publish(need_filed(driver, "need-000123"), "need-000123")

    [delivery] = await sent_to(notify, driver, "need_filed")
    assert delivery["channel"] == "sms"
    assert delivery["cause"] == envelope.id
    [message] = sms.to(phones[driver])
    assert "证件审验" in message.text
    assert "000123" in message.text
    assert message.key == delivery["delivery_id"], "the ledger's key is the provider's idempotency key"
    name = next(n for n, _, p in PEOPLE if p == phones[driver])
    assert name not in message.text

    async def published() -> list[dict[str, Any]]:
        records = await read_topic(notify_bootstrap(notify), NOTIFY_DELIVERY.name)
        return [json.loads(r.value) for r in records if r.key == delivery["delivery_id"].encode()]

    [event] = await eventually(published, message="DeliverySent on notify.delivery.v1")
    assert event["type"] == "roadbranch.notify.delivery.sent.v1"
    assert event["data"]["recipient_driver_id"] == driver
    assert phones[driver] not in json.dumps(event)


async def test_a_redelivered_event_sends_nothing_twice(
    notify: Notify, drivers: list[str], phones: dict[str, str], servers: Any, stack_info: StackInfo
) -> None:
    sms, _, _ = servers
    driver = drivers[0]
    payload = need_filed(driver, "need-000777", "medical")
    # The same envelope twice, as an at-least-once producer may deliver it.
    async with EventPublisher(stack_info.kafka_bootstrap) as publisher:
        envelope = await publisher.publish(payload, "need-000777")
        await publisher.send(envelope, WELFARE_NEED.name)
    await sent_to(notify, driver, "need_filed", count=2)  # this one and the first test's
    marker = await events_marker(notify, driver, stack_info)
    assert marker
    assert len([m for m in sms.to(phones[driver]) if "000777" in m.text]) == 1
    assert len(notify.ledger(cause=envelope.id)["deliveries"]) == 1


async def test_wechat_reaches_the_driver_alone_and_a_user_wechat_refuses_falls_back_to_sms(
    notify: Notify,
    roster: Roster,
    drivers: list[str],
    phones: dict[str, str],
    servers: Any,
    events: EventPublisher,
) -> None:
    """A personal notice goes to him as a WeChat Work application message, never to a group."""
    sms, wechat, _ = servers
    driver = drivers[1]
    body = {"preferred_channel": "wechat", "wechat_id": WECHAT_USER}
    assert roster.call("PUT", f"/v1/drivers/{driver}/contact-preferences", json=body).status_code == 200
    await eventually(lambda: _async(notify.knows_contact(driver, "wechat")), message="the WeChat id")

    await events.publish(need_filed(driver, "need-100001", "parking_rest"), "need-100001")
    [delivery] = await sent_to(notify, driver, "need_filed")
    assert delivery["channel"] == "wechat"
    [message] = wechat.to(WECHAT_USER)
    assert set(message) == {"touser", "msgtype", "agentid", "text"}, "one person: no toparty, totag or @all"
    assert (message["msgtype"], message["agentid"]) == ("text", WeChatWorkServer.AGENT_ID)
    assert "停车休息" in message["text"]["content"]

    wechat.expire_tokens()  # two hours later: the kept token is refused, a new one is fetched
    await events.publish(need_filed(driver, "need-100003", "certificate_review"), "need-100003")
    await sent_to(notify, driver, "need_filed", count=2)
    assert len(wechat.to(WECHAT_USER)) == 2
    assert wechat.tokens_issued == 2

    wechat.users.discard(WECHAT_USER)  # he left the county's WeChat Work: this channel is over for him
    try:
        await events.publish(need_filed(driver, "need-100002", "medical"), "need-100002")
        sent = await sent_to(notify, driver, "need_filed", count=3)
    finally:
        wechat.users.add(WECHAT_USER)
    second = [d for d in sent if d["channel"] == "sms"]
    assert len(second) == 1
    ledger = notify.ledger(cause=second[0]["cause"])["deliveries"]
    failed = [d for d in ledger if d["channel"] == "wechat"]
    assert [d["status"] for d in failed] == ["failed"]
    assert failed[0]["reason"] == "invalid_user"
    assert [m for m in sms.to(phones[driver]) if "就医" in m.text]
    assert notify.metric("roadbranch_notify_deliveries_total", channel="wechat", outcome="fell_back") >= 1
    log = notify.process.log.read_text(encoding="utf-8")
    assert WeChatWorkServer.SECRET not in log, "the application's secret is a query parameter: never logged"
    assert "access_token=" not in log


async def test_a_driver_reads_only_his_own_inbox(
    notify: Notify, roster: Roster, drivers: list[str], events: EventPublisher
) -> None:
    driver, other = drivers[2], drivers[3]
    body = {"preferred_channel": "inbox"}
    assert roster.call("PUT", f"/v1/drivers/{driver}/contact-preferences", json=body).status_code == 200

    async def prefers_inbox() -> bool:
        answer = notify.call("GET", f"/v1/recipients/{driver}").json()
        return answer.get("preferred_channel") == "inbox"

    await eventually(prefers_inbox, message="the inbox preference")
    await events.publish(
        NeedResolved(
            need_id="need-200001",
            driver_id=driver,
            category="rights",
            urgency="normal",
            filed_at=datetime.now(UTC),
            resolved_at=datetime.now(UTC),
            within_target=True,
        ),
        "need-200001",
    )
    [delivery] = await sent_to(notify, driver, "need_resolved")
    assert delivery["channel"] == "inbox"

    own = notify.call("GET", "/v1/inbox", f"driver:{driver}").json()
    [message] = [m for m in own["messages"] if "200001" in m["text"]]
    assert own["unread"] >= 1
    assert message["read"] is False
    others = notify.call("GET", "/v1/inbox", f"driver:{other}").json()
    assert others["driver_id"] == other
    assert all("200001" not in m["text"] for m in others["messages"])
    stolen = notify.call("POST", f"/v1/inbox/{message['message_id']}/read", f"driver:{other}")
    assert stolen.status_code == 404
    assert notify.call("GET", "/v1/inbox", "work_group_staff").status_code == 403
    read = notify.call("POST", f"/v1/inbox/{message['message_id']}/read", f"driver:{driver}")
    assert read.status_code == 200
    again = notify.call("GET", "/v1/inbox", f"driver:{driver}").json()
    assert next(m for m in again["messages"] if m["message_id"] == message["message_id"])["read"] is True


async def test_staff_are_reached_by_email_from_the_staff_directory(
    notify: Notify, drivers: list[str], servers: Any, events: EventPublisher
) -> None:
    _, _, smtp = servers
    bad = notify.call("PUT", "/v1/staff/handler-7/contact", json={"email": "not-an-address"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "email"
    nothing = notify.call("PUT", "/v1/staff/handler-7/contact", json={})
    assert nothing.status_code == 422
    assert notify.call("PUT", "/v1/staff/handler-7/contact", "driver", json={}).status_code == 403
    saved = notify.call(
        "PUT",
        "/v1/staff/handler-7/contact",
        json={"email": "handler7@rights.example", "preferred_channel": "email"},
    )
    assert saved.status_code == 200, saved.text
    assert "handler7@" not in json.dumps(saved.json()), "the directory answers with the address masked"

    now = datetime.now(UTC)
    await events.publish(
        NeedAssigned(
            need_id="need-300001",
            driver_id=drivers[4],
            category="family_hardship",
            urgency="high",
            handler_id="handler-7",
            due_at=now + timedelta(hours=48),
            assigned_at=now,
        ),
        "need-300001",
    )
    [delivery] = await sent_to(notify, "handler-7", "need_assigned_handler")
    assert delivery["channel"] == "email"
    assert delivery["recipient_kind"] == "staff"
    [mail] = smtp.to("handler7@rights.example")
    assert mail.subject == "诉求待办"
    assert "家庭困难" in mail.body
    assert "300001" in mail.body
    await sent_to(notify, drivers[4], "need_assigned_driver")


async def test_transient_failures_retry_with_backoff_and_permanent_ones_are_recorded(
    notify: Notify, drivers: list[str], phones: dict[str, str], servers: Any, events: EventPublisher
) -> None:
    sms, _, _ = servers
    driver = drivers[5]
    await eventually(lambda: _async(notify.knows_contact(driver)), message="the roster's contact point")
    sms.fail_next = [503, 503]
    envelope = await events.publish(need_filed(driver, "need-400001"), "need-400001")
    [delivery] = await sent_to(notify, driver, "need_filed")
    assert delivery["channel"] == "sms"
    assert delivery["attempts"] == 3
    assert notify.ledger(cause=envelope.id)["deliveries"] == [delivery]

    sms.fail_numbers[phones[driver]] = 400  # the provider refuses the number: no retry, fall back
    try:
        envelope = await events.publish(need_filed(driver, "need-400002", "rights"), "need-400002")
        sent = await sent_to(notify, driver, "need_filed", count=2)
    finally:
        sms.fail_numbers.clear()
    ledger = {d["channel"]: d for d in notify.ledger(cause=envelope.id)["deliveries"]}
    assert ledger["sms"]["status"] == "failed"
    assert ledger["sms"]["reason"] == "http_400:rejected_number"
    assert ledger["sms"]["attempts"] == 1
    assert ledger["inbox"]["status"] == "sent", "the inbox is the last fallback of a driver"
    assert any(d["channel"] == "inbox" for d in sent)


async def test_the_ledger_is_for_staff_and_asks_for_a_filter(notify: Notify, drivers: list[str]) -> None:
    assert notify.call("GET", "/v1/deliveries", "driver", params={"recipient": drivers[0]}).status_code == 403
    missing = notify.call("GET", "/v1/deliveries")
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "recipient"
    assert (
        notify.call("GET", "/v1/deliveries", "operator", params={"recipient": drivers[0]}).status_code == 200
    )


async def test_an_erased_driver_gets_nothing(
    notify: Notify,
    roster: Roster,
    drivers: list[str],
    phones: dict[str, str],
    servers: Any,
    events: EventPublisher,
) -> None:
    sms, _, _ = servers
    driver = drivers[4]
    erased = roster.call(
        "POST",
        f"/v1/drivers/{driver}/erasure",
        json={"reason": "本人申请删除个人信息", "request_reference": "DEL-2026-009"},
    )
    assert erased.status_code == 200, erased.text

    async def forgotten() -> bool:
        return bool(notify.call("GET", f"/v1/recipients/{driver}").json().get("erased"))

    await eventually(forgotten, message="notify to forget the erased driver")
    before = len(sms.to(phones[driver]))
    envelope = await events.publish(need_filed(driver, "need-500001"), "need-500001")

    async def closed() -> list[dict[str, Any]]:
        return notify.ledger(cause=envelope.id)["deliveries"]

    [record] = await eventually(closed, message="the message to the erased driver to be closed")
    assert record["status"] == "cancelled"
    assert record["reason"] == "recipient_erased"
    assert len(sms.to(phones[driver])) == before
    assert notify.call("GET", "/v1/inbox", f"driver:{driver}").json()["messages"] == []


async def test_contact_points_are_stored_encrypted_and_bound_to_their_owner(
    notify: Notify, phones: dict[str, str], stack_info: StackInfo
) -> None:
    saved = notify.call("PUT", "/v1/staff/handler-8/contact", json={"email": "handler8@rights.example"})
    assert saved.status_code == 200, saved.text
    keys = PiiKeys.from_env(environ=notify.process.env)
    driver, phone = sorted(phones.items())[0]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    try:
        db = client[notify.database]
        contact = await eventually(
            lambda: db.contacts.find_one({"_id": driver, "phone": {"$ne": None}}),
            message="the driver's contact point in notify's view",
        )
        staff = await db.staff.find_one({"_id": "handler-8"})
        stored = json.dumps([contact, staff], default=str)
    finally:
        await client.close()
    assert phone not in stored, "a phone number is not stored in the clear"
    assert "handler8@" not in stored, "an e-mail address is not stored in the clear"
    assert decrypt(keys, contact["phone"], aad=f"notify/contacts/{driver}/phone") == phone
    assert decrypt(keys, staff["email"], aad="notify/staff/handler-8/email") == "handler8@rights.example"
    with pytest.raises(PiiDecryptError):  # a token copied to another person's record does not open
        decrypt(keys, contact["phone"], aad="notify/contacts/drv_other/phone")


async def test_no_phone_number_in_the_notify_logs(notify: Notify, phones: dict[str, str]) -> None:
    logs = notify.process.logs()
    assert logs
    for phone in phones.values():
        assert phone not in logs


def notify_bootstrap(notify: Notify) -> str:
    return notify.process.env["ROADBRANCH_NOTIFY_KAFKA_BOOTSTRAP"]


async def events_marker(notify: Notify, driver: str, stack_info: StackInfo) -> bool:
    """Publish a later event for `driver` and wait until it is sent: everything before it is handled."""
    async with EventPublisher(stack_info.kafka_bootstrap) as publisher:
        envelope = await publisher.publish(need_filed(driver, "need-marker1", "other"), "need-marker1")

    async def done() -> bool:
        return any(d["status"] == "sent" for d in notify.ledger(cause=envelope.id)["deliveries"])

    return await eventually(done, message="the marker message")


async def _async(value: Any) -> Any:
    return value
