"""Activities as two processes on one database (mongo-java-server, whose filtered updates are atomic
as on MongoDB), fed by a real roster: twenty drivers check in to one lesson at once through both,
one replica killed with -9 mid-run and its callers trying again on the other. Every check-in lands
on the one meeting document, none lost to another's write, none twice, and the figures count them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from activities_support import Activities, assign, build_pilot, verified_members
from replicas import Call, post_through_a_crash, with_a_replica
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.mongojava import MongoJavaServer
from roadbranch_shared.devstack.services import ServiceProcess
from roster_support import Roster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running = Roster(stack_info, tmp_path_factory.mktemp("replicas-roster")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def pilot(roster: Roster) -> dict[str, Any]:
    """The pilot's tree, and fifteen more verified members in its branch: twenty drivers."""
    tree = build_pilot(roster, "副本党员", 1981)
    more = verified_members(roster, "副本加员", 15, 1982)
    for member_id, _ in more:
        assign(roster, member_id, tree["branch"])
    return {**tree, "drivers": [*tree["drivers"], *(d for _, d in more)]}


@pytest.fixture
def replicas(
    stack_info: StackInfo, mongo_java: MongoJavaServer, tmp_path: Path, pilot: dict[str, Any]
) -> Iterator[tuple[Activities, ServiceProcess]]:
    first = Activities(
        stack_info,
        tmp_path,
        secretary_scope=pilot["branch"],
        driver_ids=pilot["drivers"],
        mongo_uri=mongo_java.uri,
        idempotency_lease_seconds="3",
        kafka_heartbeat_seconds="0.5",
        relay_lease_seconds="3",  # the killed replica's outbox is taken over after 3 s, not 30
    )
    with with_a_replica(first.process, tmp_path / "2.log") as second:
        first.wait_for_members(pilot["branch"], pilot["drivers"])
        yield first, second


async def test_check_ins_through_two_replicas_one_killed_all_land_once(
    replicas: tuple[Activities, ServiceProcess], pilot: dict[str, Any]
) -> None:
    activities, second = replicas
    starts = datetime.now(UTC) + timedelta(minutes=30)
    lesson = activities.schedule(pilot["branch"], "party_lesson", starts, role="branch_secretary")
    meeting_id = lesson["meeting_id"]
    assert set(pilot["drivers"]) <= set(lesson["invitees"])
    code = activities.ok("POST", f"/v1/meetings/{meeting_id}/check-in-code", "branch_secretary")["code"]
    calls: list[Call] = [
        (
            f"/v1/meetings/{meeting_id}/check-in",
            {"code": code},
            {  # as the driver app sends it: his token, and a key for the check-in
                "Authorization": f"Bearer {activities.driver_tokens[driver_id]}",
                "Idempotency-Key": f"check-in-{meeting_id}-{driver_id}",
            },
        )
        for driver_id in pilot["drivers"]
    ]
    replies, retried = await post_through_a_crash(
        activities.process.url, second, calls, kill_after=6, landed=lambda a: a.status_code == 200
    )
    answers = [a.json() for a in replies]
    assert second.proc is None, "the second replica was killed during the run"
    assert retried > 0, "calls meant for the killed replica were sent again"
    assert {a["attendance"]["status"] for a in answers} == {"on_site"}
    meeting = activities.ok("GET", f"/v1/meetings/{meeting_id}", "branch_secretary")
    checked_in = {
        person for person, record in (meeting.get("attendance") or {}).items() if record["way"] == "check_in"
    }
    assert checked_in == set(pilot["drivers"]), "every check-in on the one document, none lost"

    # Held after its start: the figures count each check-in once.
    activities.set_clock(starts + timedelta(hours=1))
    held = activities.ok(
        "POST", f"/v1/meetings/{meeting_id}/hold", "branch_secretary", json={"summary": "两个副本的签到"}
    )
    assert held["figures"]["present_on_site"] == len(pilot["drivers"])
    assert held["figures"]["invited"] == len(lesson["invitees"])
