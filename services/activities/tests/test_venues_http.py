"""The venue directory's HTTP API in process: `create_app` on the in-memory store, requests through
the ASGI transport (no Kafka, no database, no server process). tests/test_activities_venues.py runs
the same requests through a real activities process, FerretDB and Kafka."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from activities.app.wiring import ActivitiesStores
from activities.domain.venues import Venue
from activities.main import create_app
from activities.settings import Settings
from pydantic import SecretStr
from roadbranch_shared.aggregates import InMemoryAggregateStore
from roadbranch_shared.clock import Clock

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TOKENS = {
    "token-of-the-department": {"subject": "staff-org-1", "role": "org_department"},
    "token-of-an-instructor": {"subject": "staff-ins-1", "role": "instructor"},
    "token-of-a-welfare-officer": {"subject": "officer-1", "role": "welfare_officer"},
}
SHOP = {"venue_id": "ven_repair_shop", "name": "美姑县汽车修理厂", "venue_kind": "repair_shop"}


class Api:
    def __init__(self) -> None:
        self.store: InMemoryAggregateStore[Venue] = InMemoryAggregateStore(Venue, source="test")
        clock = Clock(controllable=True, runs=False)
        clock.set(T0)
        settings = Settings(tokens=SecretStr(json.dumps(TOKENS)), county="美姑县")
        app = create_app(settings, stores=ActivitiesStores(venues=self.store), clock=clock)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://activities")

    async def call(
        self, method: str, path: str, body: Any = None, token: str = "token-of-the-department"
    ) -> httpx.Response:
        return await self.http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})

    def types(self) -> list[str]:
        return [e["type"].rsplit(".", 2)[-2] for e in self.store.published]


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    api = Api()
    yield api
    await api.http.aclose()


def refusal(answer: httpx.Response) -> tuple[int, str]:
    error = answer.json()["error"]
    return answer.status_code, error.get("fields", [error])[0]["field"]


async def test_the_department_registers_stations_and_renames_a_venue(api: Api) -> None:
    answer = await api.call("POST", "/v1/venues", {**SHOP, "instructor_ids": ["staff-ins-1"]})
    assert answer.status_code == 201
    registered = answer.json()
    assert registered["county"] == "美姑县"
    assert registered["instructor_ids"] == ["staff-ins-1"]
    assert registered["registered_at"] == "2026-12-01T08:00:00Z"
    stationed = await api.call(
        "PUT", "/v1/venues/ven_repair_shop/instructors", {"instructor_ids": ["staff-ins-2"]}
    )
    assert stationed.json()["instructor_ids"] == ["staff-ins-2"]
    unchanged = await api.call(
        "PUT", "/v1/venues/ven_repair_shop/instructors", {"instructor_ids": ["staff-ins-2"]}
    )
    assert unchanged.json() == stationed.json()
    renamed = await api.call("PATCH", "/v1/venues/ven_repair_shop", {"name": "美姑县汽车维修中心"})
    assert renamed.json()["name"] == "美姑县汽车维修中心"
    assert api.types() == ["registered", "updated", "updated"], "no event for a change that changes nothing"
    listed = (await api.call("GET", "/v1/venues", token="token-of-an-instructor")).json()["venues"]
    assert [v["venue_id"] for v in listed] == ["ven_repair_shop"]


async def test_refused_requests_name_the_field_and_leave_nothing_behind(api: Api) -> None:
    cases = [
        ({**SHOP, "venue_kind": "tea_house"}, "venue_kind"),
        ({**SHOP, "name": "   "}, "body.name"),
        ({**SHOP, "name": ""}, "body.name"),
        ({**SHOP, "name": "张三 13912345678 的修理厂"}, "name"),
        ({**SHOP, "instructor_ids": ["ins-a", "ins-b", "ins-a"]}, "instructor_ids.2"),
        ({**SHOP, "instructor_ids": ["ins-a", "13912345678"]}, "instructor_ids.1"),
        ({**SHOP, "instructor_ids": ["513431198201010016"]}, "instructor_ids.0"),
        ({**SHOP, "venue_id": "513431198201010016"}, "venue_id"),
        ({**SHOP, "county": "zhaojue"}, "body.county"),
    ]
    for body, field in cases:
        assert refusal(await api.call("POST", "/v1/venues", body)) == (422, field), body
    assert api.store.published == [], "nothing half-written"
    assert (await api.call("GET", "/v1/venues")).json() == {"venues": []}

    await api.call("POST", "/v1/venues", SHOP)
    assert refusal(await api.call("POST", "/v1/venues", {**SHOP, "name": "另一家"})) == (409, "venue_id")
    assert refusal(await api.call("GET", "/v1/venues/ven_nowhere")) == (404, "venue_id")
    assert refusal(await api.call("PATCH", "/v1/venues/ven_nowhere", {"name": "x"})) == (404, "venue_id")
    assert api.types() == ["registered"]


async def test_only_the_work_group_and_the_department_manage_venues(api: Api) -> None:
    by_instructor = await api.call("POST", "/v1/venues", SHOP, token="token-of-an-instructor")
    assert by_instructor.status_code == 403
    assert (await api.call("GET", "/v1/venues", token="token-of-a-welfare-officer")).status_code == 403
    assert (await api.http.get("/v1/venues")).status_code == 401
    assert api.store.published == []
