"""From a meeting scheduled in a real activities process to the drivers' phones: the roster's
contact points and tree, activities' MeetingScheduled with its invitees, and notify's invitation and
two reminders at the right times on its controllable clock, through a local SMS provider."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import pytest
from activities_support import Activities, pilot_fixtures
from notify_support import Notify, SmsProviderServer, running
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually
from roster_support import Roster

pytestmark = pytest.mark.integration

CST = timezone(timedelta(hours=8))
roster, pilot, activities = pilot_fixtures("notify", 1981)
# A meeting three local days ahead at 10:00, so both reminders fall in the day, not in quiet hours.
STARTS = datetime.combine(datetime.now(CST).date() + timedelta(days=3), time(10, 0), tzinfo=CST)


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsProviderServer]:
    server = SmsProviderServer()
    with running(server):
        yield server


@pytest.fixture(scope="module")
def notify(
    stack_info: StackInfo,
    tmp_path_factory: pytest.TempPathFactory,
    sms: SmsProviderServer,
    pilot: dict[str, Any],
) -> Iterator[Notify]:
    process = Notify(stack_info, tmp_path_factory.mktemp("notify-e2e"), sms=sms).start()
    process.set_clock(STARTS - timedelta(days=1, hours=1))  # 09:00 the day before the 24-hour reminder
    yield process
    process.stop()


async def test_a_meeting_scheduled_in_activities_is_announced_and_reminded_by_sms(
    roster: Roster, pilot: dict[str, Any], activities: Activities, notify: Notify, sms: SmsProviderServer
) -> None:
    drivers: list[str] = pilot["drivers"]
    for driver in drivers:
        await eventually(lambda d=driver: _known(notify, d), message=f"the contact point of {driver}")
    phones = _phones(roster, drivers)

    meeting = activities.schedule(pilot["branch"], "branch_member_meeting", STARTS.astimezone(UTC))
    meeting_id = meeting["meeting_id"]
    for driver in drivers:
        await _sent(notify, driver, "meeting_scheduled")
    reminders = notify.call("GET", f"/v1/meetings/{meeting_id}/reminders").json()
    assert reminders["invitees"] == len(drivers)
    assert [datetime.fromisoformat(r["fire_at"]) for r in reminders["reminders"]] == [
        STARTS - timedelta(hours=24),
        STARTS - timedelta(hours=1),
    ]
    assert not any(r["fired"] for r in reminders["reminders"])

    notify.set_clock(STARTS - timedelta(hours=24) + timedelta(seconds=5))
    for driver in drivers:
        [day_before] = await _sent(notify, driver, "meeting_reminder")
        assert datetime.fromisoformat(day_before["sent_at"]) >= STARTS - timedelta(hours=24)
    notify.set_clock(STARTS - timedelta(hours=1) + timedelta(seconds=5))
    for driver in drivers:
        both = await _sent(notify, driver, "meeting_reminder", count=2)
        assert max(datetime.fromisoformat(d["sent_at"]) for d in both) >= STARTS - timedelta(hours=1)
    for driver in drivers:
        texts = [m.text for m in sms.to(phones[driver]) if m.text.startswith("【会议提醒】")]
        assert len(texts) == 2, "two reminders per invitee, no more"
        assert "还有1天" in texts[0]
        assert "还有1小时" in texts[1]


async def _known(notify: Notify, driver_id: str) -> bool:
    return notify.knows_contact(driver_id)


async def _sent(notify: Notify, recipient: str, template: str, count: int = 1) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]]:
        found = notify.sent(recipient, template)
        return found if len(found) >= count else []

    return await eventually(check, timeout=60, message=f"{count} {template} to {recipient}")


def _phones(roster: Roster, drivers: list[str]) -> dict[str, str]:
    """The drivers' phone numbers as the organisation department reads them (an audited read)."""
    phones = {}
    for driver in drivers:
        answer = roster.call(
            "GET", f"/v1/drivers/{driver}/identity", "org_department", params={"purpose": "核对通知送达"}
        )
        assert answer.status_code == 200, answer.text
        phones[driver] = answer.json()["phone"]
    return phones
