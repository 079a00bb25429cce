"""Welfare as two processes on one database (mongo-java-server, whose filtered updates are atomic as
on MongoDB): visits and check-ins sent to both at once never hand out more than the stock or more
beds than there are, and every one either lands whole or is refused naming the reason."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.mongojava import MongoJavaServer
from roadbranch_shared.devstack.services import ServiceProcess
from welfare_support import Welfare

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def replicas(
    stack_info: StackInfo, mongo_java: MongoJavaServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Welfare, ServiceProcess]]:
    log_dir = tmp_path_factory.mktemp("welfare-replicas")
    first = Welfare(stack_info, log_dir, mongo_uri=mongo_java.uri).start()
    # The same settings, database, consumer group and tokens: a second replica of the same service.
    second = ServiceProcess(
        "welfare.main:create_app", env=dict(first.process.env), log=log_dir / "second.log"
    )
    try:
        second.start()
        yield first, second
    finally:
        second.stop()
        first.stop()


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
