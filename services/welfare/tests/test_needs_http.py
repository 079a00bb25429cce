"""The direct line's HTTP API in process: `create_app` on the in-memory stores, requests through the
ASGI transport (no Kafka, no database, no server process). What each route answers, refuses and
publishes; tests/test_welfare_needs.py drives the same routes through a real welfare process,
FerretDB and Kafka, and covers what needs the database (`Idempotency-Key`, the resource list)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from roadbranch_shared.clock import Clock
from welfare.adapters.memory import in_memory_stores
from welfare.main import create_app
from welfare.settings import Settings

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TOKENS = {
    "token-of-driver-1": {"subject": "driver-drv_1", "role": "driver", "driver_id": "drv_1"},
    "token-of-driver-2": {"subject": "driver-drv_2", "role": "driver", "driver_id": "drv_2"},
    "token-of-an-officer": {"subject": "officer-1", "role": "welfare_officer"},
    "token-of-a-station": {"subject": "station-1", "role": "station_staff"},
    "token-of-an-operator": {"subject": "operator-1", "role": "operator"},
}
NEED = {
    "category": "road_traffic",
    "urgency": "high",
    "description": "G348 K120 爆胎，需要救援",
    "location": {"text": "G348 K120 附近"},
}


class Api:
    def __init__(self) -> None:
        self.stores, self.needs, self.drivers, self.staff = in_memory_stores(
            drivers=["drv_1", "drv_2"], resources=["res_rescue"]
        )
        self.clock = Clock(controllable=True, runs=False)
        self.clock.set(T0)
        settings = Settings(tokens=SecretStr(json.dumps(TOKENS)), seed_resources=False)
        self.app = create_app(settings, stores=self.stores, clock=self.clock)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://welfare")

    async def call(self, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
        return await self.http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})

    async def file(self, token: str = "token-of-driver-1", **given: Any) -> dict[str, Any]:
        answer = await self.call("POST", "/v1/needs", token, {**NEED, **given})
        assert answer.status_code == 201, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def types(self) -> list[str]:
        return [e["type"] for e in self.needs.published]


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    api = Api()
    yield api
    await api.http.aclose()


def refused(answer: httpx.Response) -> list[tuple[str, str]]:
    """The (field, reason) pairs an error answer names: one for a refusal, a list for bad input."""
    error = answer.json()["error"]
    return [(e["field"], e["reason"]) for e in error.get("fields", [error])]


async def test_a_driver_files_his_need_and_it_is_published_without_his_words(api: Api) -> None:
    need = await api.file()
    assert need["status"] == "filed"
    assert need["driver_id"] == "drv_1"
    assert need["description"] == NEED["description"]
    assert api.types() == ["roadbranch.welfare.need.filed.v1"]
    published = json.dumps(api.needs.published[0], ensure_ascii=False, default=str)
    assert "爆胎" not in published, "his words stay in welfare's document"
    assert "G348" not in published


async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(api: Api) -> None:
    answer = await api.call("POST", "/v1/needs", "token-of-driver-1", {**NEED, "category": "weather"})
    assert answer.status_code == 422
    assert [field for field, _ in refused(answer)] == ["category"]
    answer = await api.call("POST", "/v1/needs", "token-of-driver-1", {**NEED, "description": "x"})
    assert answer.status_code == 422
    assert refused(answer) == [("body.description", "string_too_short")]
    assert api.needs.published == []
    assert (await api.call("GET", "/v1/needs", "token-of-an-officer")).json() == {"needs": []}


async def test_staff_file_for_a_known_driver_only(api: Api) -> None:
    answer = await api.call("POST", "/v1/needs", "token-of-an-officer", NEED)
    assert answer.status_code == 422
    assert refused(answer) == [("driver_id", "required")]
    answer = await api.call("POST", "/v1/needs", "token-of-an-officer", {**NEED, "driver_id": "drv_unknown"})
    assert answer.status_code == 404
    assert refused(answer) == [("driver_id", "unknown_driver")]
    need = await api.file("token-of-an-officer", driver_id="drv_2")
    assert need["driver_id"] == "drv_2"


async def test_a_driver_files_only_for_himself_and_sees_only_his_own(api: Api) -> None:
    answer = await api.call("POST", "/v1/needs", "token-of-driver-1", {**NEED, "driver_id": "drv_2"})
    assert answer.status_code == 403
    mine = await api.file("token-of-driver-1")
    await api.file("token-of-driver-2")
    listed = (await api.call("GET", "/v1/needs", "token-of-driver-1")).json()["needs"]
    assert [n["need_id"] for n in listed] == [mine["need_id"]]
    assert (await api.call("GET", f"/v1/needs/{mine['need_id']}", "token-of-driver-2")).status_code == 404
    assert (await api.call("GET", "/v1/needs", "token-of-a-station")).status_code == 403
    assert len((await api.call("GET", "/v1/needs", "token-of-an-officer")).json()["needs"]) == 2


async def test_a_need_is_matched_assigned_resolved_and_rated_once(api: Api) -> None:
    need_id = (await api.file())["need_id"]
    answer = await api.call(
        "POST", f"/v1/needs/{need_id}/match", "token-of-an-officer", {"resource_ids": ["res_gone"]}
    )
    assert answer.status_code == 404
    assert refused(answer) == [("resource_ids", "unknown_resource")]
    answer = await api.call(
        "POST", f"/v1/needs/{need_id}/match", "token-of-an-officer", {"resource_ids": ["res_rescue"]}
    )
    assert answer.json()["status"] == "matched"

    assigned = await api.call(
        "POST", f"/v1/needs/{need_id}/assign", "token-of-an-officer", {"handler_id": "handler-1"}
    )
    assert assigned.json()["status"] == "assigned"
    assert [w["reason"] for w in assigned.json()["warnings"]] == ["no_contact_point"]
    api.staff.entries["handler-2"] = {"_id": "handler-2", "reachable": True}
    again = await api.call(
        "POST", f"/v1/needs/{need_id}/assign", "token-of-an-officer", {"handler_id": "handler-2"}
    )
    assert again.json()["warnings"] == []

    api.clock.advance(3600)
    resolved = await api.call(
        "POST", f"/v1/needs/{need_id}/resolve", "token-of-an-officer", {"summary": "已联系救援"}
    )
    assert resolved.json()["status"] == "resolved"
    rating = {"rating": 5, "comment": "很快"}
    assert (
        await api.call("POST", f"/v1/needs/{need_id}/rating", "token-of-driver-2", rating)
    ).status_code == 403
    rated = await api.call("POST", f"/v1/needs/{need_id}/rating", "token-of-driver-1", rating)
    assert rated.json()["rating"] == {"rating": 5, "comment": "很快", "at": "2026-12-01T09:00:00Z"}
    assert (
        await api.call("POST", f"/v1/needs/{need_id}/rating", "token-of-driver-1", rating)
    ).status_code == 409
    assert api.types() == [
        "roadbranch.welfare.need.filed.v1",
        "roadbranch.welfare.need.matched.v1",
        "roadbranch.welfare.need.assigned.v1",
        "roadbranch.welfare.need.assigned.v1",
        "roadbranch.welfare.need.resolved.v1",
        "roadbranch.welfare.need.rated.v1",
    ]


async def test_the_test_clock_and_the_driver_view_answer_in_process(api: Api) -> None:
    moved = await api.call("PUT", "/v1/ops/clock", "token-of-an-operator", {"advance_seconds": 60})
    assert moved.json() == {"now": "2026-12-01T08:01:00Z"}
    assert api.clock.now() == datetime(2026, 12, 1, 8, 1, tzinfo=UTC)
    view = await api.call("GET", "/v1/drivers/drv_1", "token-of-an-officer")
    assert view.json() == {"driver_id": "drv_1", "registered": True, "member": False, "erased": False}
    assert (await api.call("GET", "/v1/drivers/drv_9", "token-of-an-officer")).status_code == 404
