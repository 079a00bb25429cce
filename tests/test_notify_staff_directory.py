"""A handler notify cannot reach is seen where staff work: a real welfare process warns in the assign
answer, from notify's staff-directory events (no address on the topic), and a real notify process
counts the notice it could not deliver."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from notify_support import DAYTIME, EventPublisher, Notify, SmsProviderServer, SmtpServer, running
from roadbranch_shared.contracts.roster import DriverRegistered
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually, read_topic
from roadbranch_shared.topics import NOTIFY_STAFF
from welfare_support import Welfare

pytestmark = pytest.mark.integration

DRIVER = f"drv_staffdir_{secrets.token_hex(4)}"
NOT_REGISTERED = {
    "field": "handler_id",
    "reason": "no_contact_point",
    "message": "该处理人尚未登记联系方式，将收不到提醒",
}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[SmsProviderServer, SmtpServer]]:
    sms, smtp = SmsProviderServer(), SmtpServer()
    with running(sms, smtp):
        yield sms, smtp


@pytest.fixture(scope="module")
def notify(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory, servers: Any) -> Iterator[Notify]:
    sms, smtp = servers  # this county has no WeChat Work application configured
    process = Notify(stack_info, tmp_path_factory.mktemp("notify"), sms=sms, smtp=smtp)
    process.start()
    process.set_clock(DAYTIME)  # the reassigned need's mail is not urgent: not held by quiet hours
    yield process
    process.stop()


@pytest.fixture(scope="module")
def welfare(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Welfare]:
    running_welfare = Welfare(stack_info, tmp_path_factory.mktemp("welfare")).start()
    yield running_welfare
    running_welfare.stop()


@pytest.fixture(scope="module")
async def need_id(stack_info: StackInfo, welfare: Welfare) -> str:
    """A need filed by staff for a driver the roster registered (welfare learns him from its events)."""
    async with EventPublisher(stack_info.kafka_bootstrap, source="/tests/roster") as roster:
        registered = DriverRegistered(
            driver_id=DRIVER, county="meigu", source="individual", registered_at=datetime.now(UTC)
        )
        await roster.publish(registered, DRIVER)

    async def filed() -> dict[str, Any] | None:
        body = {"driver_id": DRIVER, "category": "rights", "description": "运费被拖欠"}
        answer = welfare.call("POST", "/v1/needs", json=body)
        return dict(answer.json()) if answer.status_code == 201 else None

    need = await eventually(filed, message="the need filed for the registered driver")
    return str(need["need_id"])


def assign(welfare: Welfare, need_id: str, handler: str) -> dict[str, Any]:
    return welfare.ok("POST", f"/v1/needs/{need_id}/assign", json={"handler_id": handler})


async def test_assigning_to_a_handler_without_a_directory_entry_warns_and_the_lost_notice_is_counted(
    notify: Notify, welfare: Welfare, need_id: str
) -> None:
    handler = f"handler-{secrets.token_hex(3)}"
    answer = assign(welfare, need_id, handler)
    assert answer["status"] == "assigned"
    assert answer["handler_id"] == handler
    assert answer["warnings"] == [NOT_REGISTERED]

    async def cancelled() -> list[dict[str, Any]]:
        return [
            d
            for d in notify.ledger(recipient=handler)["deliveries"]
            if d["template"] == "need_assigned_handler"
        ]

    [notice] = await eventually(cancelled, message="the handler's notice in notify's ledger")
    assert (notice["status"], notice["reason"]) == ("cancelled", "no_contact_point")

    async def counted() -> float:
        return notify.metric(
            "roadbranch_notify_undeliverable_total", reason="no_contact_point", recipient_kind="person"
        )

    assert await eventually(counted, message="the undeliverable notice on notify's /metrics") >= 1


async def test_once_the_handler_is_in_the_directory_the_assign_answer_has_no_warning(
    notify: Notify, welfare: Welfare, need_id: str, stack_info: StackInfo, servers: Any
) -> None:
    _, smtp = servers
    handler = f"handler-{secrets.token_hex(3)}"
    assert assign(welfare, need_id, handler)["warnings"] == [NOT_REGISTERED]
    address = f"{handler}@rights.example"
    saved = notify.call("PUT", f"/v1/staff/{handler}/contact", json={"email": address})
    assert saved.status_code == 200, saved.text

    async def no_warning() -> dict[str, Any] | None:
        answer = assign(welfare, need_id, handler)
        return answer if answer["warnings"] == [] else None

    await eventually(no_warning, message="welfare to learn the handler's directory entry")
    await eventually(lambda: _async(smtp.to(address)), message="the reassigned need's mail to the handler")

    async def entry() -> list[dict[str, Any]]:
        records = await read_topic(stack_info.kafka_bootstrap, NOTIFY_STAFF.name)
        return [json.loads(r.value) for r in records if r.key == handler.encode() and r.value]

    [event] = await eventually(entry, message="the directory entry on notify.staff.v1")
    assert event["type"] == "roadbranch.notify.staff.contact_set.v1"
    assert (event["data"]["channels"], event["data"]["reachable"]) == (["email"], True)
    assert address not in json.dumps(event), "the topic carries no address"


async def test_a_handler_reachable_only_on_a_channel_this_county_has_not_set_up_is_warned_about_too(
    notify: Notify, welfare: Welfare, need_id: str
) -> None:
    handler = f"handler-{secrets.token_hex(3)}"
    body = {"wechat_id": f"wx_{handler}", "preferred_channel": "wechat"}
    assert notify.call("PUT", f"/v1/staff/{handler}/contact", json=body).status_code == 200

    async def warned() -> list[dict[str, Any]] | None:
        warnings = assign(welfare, need_id, handler)["warnings"]
        return warnings if warnings and warnings[0]["reason"] != "no_contact_point" else None

    [warning] = await eventually(warned, message="welfare to learn the handler's directory entry")
    assert (warning["field"], warning["reason"]) == ("handler_id", "no_usable_channel")
    assert "收不到提醒" in warning["message"]


async def _async(value: Any) -> Any:
    return value
