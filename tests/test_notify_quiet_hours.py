"""A driver's own quiet hours, from the roster to a real notify: he sets them with his contact
preferences (roster.contact.v1 carries them), notify holds a non-urgent message to him until his
own window ends (not the county's), and his app's replays (the preferences, his self-declaration,
marking a message read) with one `Idempotency-Key` take effect once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone
from typing import Any

import pytest
from notify_support import EventPublisher, Notify
from roadbranch_shared.contracts.welfare import NeedFiled
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration

CST = timezone(timedelta(hours=8))
DAY = datetime.now(CST).date() + timedelta(days=2)


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running = Roster(stack_info, tmp_path_factory.mktemp("quiet-roster")).start()
    running.import_drivers(synthetic_people("免打扰", 1, 1984))
    [driver] = running.call("GET", "/v1/drivers").json()["drivers"]
    running.restart_as_driver(driver["driver_id"])
    running.driver_id = driver["driver_id"]  # type: ignore[attr-defined]
    yield running
    running.stop()


@pytest.fixture(scope="module")
def driver_id(roster: Roster) -> str:
    found: str = roster.driver_id  # type: ignore[attr-defined]
    return found


@pytest.fixture(scope="module")
def notify(
    stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory, driver_id: str
) -> Iterator[Notify]:
    running = Notify(stack_info, tmp_path_factory.mktemp("quiet-notify"), drivers=(driver_id,)).start()
    yield running
    running.stop()


def preferences(roster: Roster, driver_id: str, key: str | None = None, **body: Any) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return roster.call(
        "PUT", f"/v1/drivers/{driver_id}/contact-preferences", "driver", json=body, headers=headers
    )


async def quiet_hours_in_notify(notify: Notify, driver_id: str, expected: dict[str, Any]) -> None:
    async def seen() -> bool:
        response = notify.call("GET", f"/v1/recipients/{driver_id}")
        return response.status_code == 200 and response.json().get("quiet_hours") == expected

    await eventually(seen, message=f"notify to know the quiet hours {expected}")


async def test_his_own_quiet_hours_reach_notify_and_hold_a_message_until_they_end(
    roster: Roster, notify: Notify, driver_id: str, stack_info: StackInfo
) -> None:
    incomplete = preferences(
        roster, driver_id, preferred_channel="inbox", quiet_hours={"mode": "own", "start": "12:00"}
    )
    assert incomplete.status_code == 422
    assert incomplete.json()["error"]["fields"][0]["field"] == "quiet_hours.end"

    own = {"mode": "own", "start": "12:00", "end": "15:00"}
    key = str(uuid.uuid4())
    first = preferences(roster, driver_id, key, preferred_channel="inbox", quiet_hours=own)
    again = preferences(roster, driver_id, key, preferred_channel="inbox", quiet_hours=own)
    assert first.status_code == 200, first.text
    assert first.json()["quiet_hours"] == own
    assert (again.json(), again.headers["Idempotent-Replayed"]) == (first.json(), "true")
    await quiet_hours_in_notify(notify, driver_id, own)

    # 13:00 is outside the county's quiet hours (22:00–07:00) and inside his own: the message waits.
    notify.set_clock(datetime.combine(DAY, time(13, 0), tzinfo=CST))
    need_id = f"need_quiet_{uuid.uuid4().hex[:8]}"
    async with EventPublisher(stack_info.kafka_bootstrap, source="/welfare") as publisher:
        filed = NeedFiled(
            need_id=need_id,
            driver_id=driver_id,
            category="medical",
            urgency="normal",
            filed_at=datetime.combine(DAY, time(13, 0), tzinfo=CST),
        )
        await publisher.publish(filed, need_id)

    async def held() -> list[dict[str, Any]]:
        pending = notify.ledger(recipient=driver_id)["pending"]
        return [p for p in pending if p.get("held_until")]

    [waiting] = await eventually(held, message="the message held for his quiet hours")
    assert datetime.fromisoformat(waiting["held_until"]) == datetime.combine(DAY, time(15, 0), tzinfo=CST)

    notify.set_clock(datetime.combine(DAY, time(15, 0, 5), tzinfo=CST))

    async def delivered() -> list[dict[str, Any]]:
        inbox = notify.call("GET", "/v1/inbox", f"driver:{driver_id}").json()
        return list(inbox["messages"])

    [message] = await eventually(delivered, message="the message in his inbox after his quiet hours")
    path = f"/v1/inbox/{message['message_id']}/read"
    read_key = {"Idempotency-Key": str(uuid.uuid4())}
    read = notify.call("POST", path, f"driver:{driver_id}", headers=read_key)
    replay = notify.call("POST", path, f"driver:{driver_id}", headers=read_key)
    assert (read.status_code, replay.status_code) == (200, 200)
    assert (replay.json(), replay.headers["Idempotent-Replayed"]) == (read.json(), "true")
    assert notify.call("GET", "/v1/inbox", f"driver:{driver_id}").json()["unread"] == 0

    # Off: no quiet hours of his own at all; a later change of channel alone keeps his choice.
    off = preferences(roster, driver_id, preferred_channel="inbox", quiet_hours={"mode": "off"})
    assert off.json()["quiet_hours"] == {"mode": "off", "start": None, "end": None}
    kept = preferences(roster, driver_id, preferred_channel="sms")
    assert kept.json()["quiet_hours"] == {"mode": "off", "start": None, "end": None}
    await quiet_hours_in_notify(notify, driver_id, {"mode": "off", "start": None, "end": None})


def test_a_replayed_self_declaration_opens_one_case(roster: Roster) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = roster.call("POST", "/v1/members/self-declaration", "driver", headers=key)
    second = roster.call("POST", "/v1/members/self-declaration", "driver", headers=key)
    assert (first.status_code, second.status_code) == (201, 201), first.text
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    cases = roster.call("GET", "/v1/members", params={"status": "candidate"}).json()["members"]
    assert [c["member_id"] for c in cases].count(first.json()["member_id"]) == 1
