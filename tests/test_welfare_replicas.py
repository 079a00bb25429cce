"""Welfare as two processes on one database (mongo-java-server, whose filtered updates are atomic as
on MongoDB): visits and check-ins sent to both at once never hand out more than the stock or more
beds than there are, and every one either lands whole or is refused naming the reason; with one
replica killed with -9 mid-run and its callers trying again on the other, every need and every
stay is there once, and every need's event is on its topic."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from replicas import Call, post_through_a_crash, with_a_replica
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.mongojava import MongoJavaServer
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.events import decode_envelope
from roadbranch_shared.kafka_tools import read_topic
from roadbranch_shared.testing import eventually
from roadbranch_shared.topics import WELFARE_NEED
from welfare_support import Welfare

pytestmark = pytest.mark.integration


def two_replicas(
    stack_info: StackInfo, mongo_java: MongoJavaServer, log_dir: Path, **settings: str
) -> Iterator[tuple[Welfare, ServiceProcess]]:
    first = Welfare(stack_info, log_dir, mongo_uri=mongo_java.uri, **settings)
    with with_a_replica(first.process, log_dir / "second.log") as second:
        first.register(*first.drivers)
        yield first, second


@pytest.fixture(scope="module")
def replicas(
    stack_info: StackInfo, mongo_java: MongoJavaServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Welfare, ServiceProcess]]:
    yield from two_replicas(stack_info, mongo_java, tmp_path_factory.mktemp("welfare-replicas"))


@pytest.fixture
def killable(
    stack_info: StackInfo, mongo_java: MongoJavaServer, tmp_path: Path
) -> Iterator[tuple[Welfare, ServiceProcess]]:
    """A pair of its own: one of them is killed. A request the killed one was running holds its
    Idempotency-Key for 3 s (30 by default) before the other may run it again, and its relay holds
    an outbox it was publishing for 3 s (30) before the other's relay takes it over."""
    yield from two_replicas(
        stack_info,
        mongo_java,
        tmp_path,
        idempotency_lease_seconds="3",
        relay_lease_seconds="3",
        kafka_heartbeat_seconds="0.5",
    )


async def post_to_both(
    replicas: tuple[Welfare, ServiceProcess], path: str, bodies: list[dict[str, object]]
) -> list[httpx.Response]:
    """POST every body at once, alternating between the two replicas."""
    welfare, second = replicas
    urls = [welfare.process.url, second.url]
    headers = {"Authorization": f"Bearer {welfare.tokens['welfare_officer']}"}
    async with httpx.AsyncClient(headers=headers, timeout=120) as client:
        return await asyncio.gather(
            *(client.post(urls[n % 2] + path, json=body) for n, body in enumerate(bodies))
        )


async def test_visits_on_two_replicas_never_issue_more_than_the_stock(
    replicas: tuple[Welfare, ServiceProcess],
) -> None:
    welfare, _ = replicas
    campaign_id = welfare.start_campaign("warmth", "冬季送温暖")["campaign_id"]
    welfare.receive(campaign_id, "gloves", 20, "手套")
    drivers = [f"drv_two_{i:02d}" for i in range(12)]
    welfare.register(*drivers)
    bodies: list[dict[str, object]] = [
        {"driver_id": d, "visitor_ids": ["v-1"], "items": {"gloves": 3}} for d in drivers
    ]
    answers = await post_to_both(replicas, f"/v1/campaigns/{campaign_id}/visits", bodies)
    assert sorted(a.status_code for a in answers) == [201] * 6 + [409] * 6, [a.text for a in answers]
    refusals = {
        (a.json()["error"]["field"], a.json()["error"]["reason"]) for a in answers if a.status_code == 409
    }
    assert refusals == {("items.gloves", "insufficient_stock")}
    campaign = welfare.ok("GET", f"/v1/campaigns/{campaign_id}")
    assert campaign["stock"]["gloves"] == {"label": "手套", "received": 20, "issued": 18, "on_hand": 2}
    assert campaign["totals"]["visits"] == 6


async def test_check_ins_on_two_replicas_never_give_more_beds_than_there_are(
    replicas: tuple[Welfare, ServiceProcess],
) -> None:
    welfare, _ = replicas
    station_id = welfare.open_station(amenities={"rest_room": True, "beds": 3})["station_id"]
    drivers = [f"drv_bed_{i}" for i in range(8)]
    welfare.register(*drivers)
    answers = await post_to_both(
        replicas, f"/v1/stations/{station_id}/check-ins", [{"driver_id": d} for d in drivers]
    )
    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 5, [a.text for a in answers]
    assert {a.json()["error"]["reason"] for a in answers if a.status_code == 409} == {"no_free_bed"}
    station = welfare.ok("GET", f"/v1/stations/{station_id}")
    assert station["occupied"] == 3
    guests = {a.json()["driver_id"] for a in answers if a.status_code == 201}
    assert len(guests) == 3


async def test_a_replica_killed_mid_run_loses_no_need_or_stay_and_doubles_none(
    stack_info: StackInfo, killable: tuple[Welfare, ServiceProcess]
) -> None:
    welfare, second = killable
    run = secrets.token_hex(3)
    drivers = [f"drv_kill_{run}_{i:02d}" for i in range(40)]
    welfare.register(*drivers)
    officer = {"Authorization": f"Bearer {welfare.tokens['welfare_officer']}"}
    needs: list[Call] = [
        (
            "/v1/needs",
            {"driver_id": d, "category": "road_traffic", "urgency": "normal", "description": f"抛锚求助 {d}"},
            {**officer, "Idempotency-Key": f"need-{d}"},
        )
        for d in drivers
    ]
    answers, retried = await post_through_a_crash(
        welfare.process.url, second, needs, kill_after=12, landed=lambda a: a.status_code == 201
    )
    assert second.proc is None, "the second replica was killed during the run"
    assert retried > 0, "calls meant for the killed replica were sent again"
    filed = {a.json()["driver_id"]: a.json()["need_id"] for a in answers}
    assert sorted(filed) == sorted(drivers)
    stored = [n for n in welfare.ok("GET", "/v1/needs?limit=500")["needs"] if n["driver_id"] in filed]
    assert sorted(n["need_id"] for n in stored) == sorted(filed.values()), "each need once"

    station_id = welfare.open_station(amenities={"rest_room": True, "beds": 60})["station_id"]
    stays: list[Call] = [(f"/v1/stations/{station_id}/check-ins", {"driver_id": d}, officer) for d in drivers]

    def checked_in(answer: httpx.Response) -> bool:
        # 201, or 409 already_checked_in: an earlier try landed and only its answer was lost.
        return answer.status_code == 201 or (
            answer.status_code == 409 and answer.json()["error"]["reason"] == "already_checked_in"
        )

    # The killed replica started again, as an orchestrator would, and killed again mid-run: a stay
    # whose answer was lost is found there when it is sent again (already_checked_in).
    second.start()
    _, retried = await post_through_a_crash(
        welfare.process.url, second, stays, kill_after=12, landed=checked_in
    )
    assert retried > 0
    station = welfare.ok("GET", f"/v1/stations/{station_id}")
    assert station["occupied"] == len(drivers), "each driver's stay once"
    assert sorted(station["guests"]) == sorted(drivers)

    async def every_need_published() -> bool:
        records = await read_topic(stack_info.kafka_bootstrap, WELFARE_NEED.name)
        published = {decode_envelope(r.value).subject for r in records if r.value is not None}
        return set(filed.values()) <= published

    # The outbox relays publish at least once: a need staged on the killed replica is published by
    # the survivor's relay; consumers drop a repeat by the event's id.
    await eventually(every_need_published, timeout=120, message="every need's NeedFiled on its topic")
