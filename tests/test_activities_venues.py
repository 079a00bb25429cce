"""The venue directory through a real activities process (fed by a real roster process): the activity
room at the highway maintenance centre with its 3 stationed instructors (选派3名指导员蹲点督导) is
published on activities.venue.v1; the directory decides which instructors manage a venue's meetings;
refused requests name the field and leave nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from activities_support import VENUE, Activities, pilot_fixtures, published
from roadbranch_shared.contracts.activities import VenueRegistered, VenueUpdated
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually

pytestmark = pytest.mark.integration

VENUES = "activities.venue.v1"
REGISTERED = "roadbranch.activities.venue.registered.v1"
UPDATED = "roadbranch.activities.venue.updated.v1"
NOV_12 = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
STATIONED = ["ins-zhang", "ins-li", "ins-wang"]
ELSEWHERE = "ins-zhao"

roster, pilot, activities = pilot_fixtures("venues", 1982, instructor_ids=[*STATIONED, ELSEWHERE])


async def venue_events(stack_info: StackInfo, event_type: str, venue_id: str) -> list[dict[str, Any]]:
    return await published(stack_info.kafka_bootstrap, VENUES, event_type, venue_id)


async def test_registering_the_activity_room_and_changing_its_instructors_publishes_the_venue(
    activities: Activities, stack_info: StackInfo
) -> None:
    room = activities.register_venue(instructor_ids=STATIONED)
    venue_id = room["venue_id"]
    assert venue_id.startswith("ven_")
    assert (room["name"], room["venue_kind"], room["county"]) == (
        "公路养护中心党员货车司机活动室",
        "activity_room",
        "meigu",
    )
    assert room["instructor_ids"] == STATIONED

    async def registered() -> list[dict[str, Any]]:
        return await venue_events(stack_info, REGISTERED, venue_id)

    [event] = await eventually(registered, message="venue.registered on Kafka")
    assert event["data"]["instructor_ids"] == STATIONED
    assert (event["data"]["county"], event["data"]["venue_kind"]) == ("meigu", "activity_room")
    assert set(event["data"]) == set(VenueRegistered.model_fields), "ids and the place only"

    # Every staff role and operators read the directory; drivers do not; only the broad roles write.
    for role in ("instructor", "branch_secretary", "operator", "org_department"):
        listed = activities.ok("GET", "/v1/venues", role)["venues"]
        assert venue_id in [v["venue_id"] for v in listed], role
    assert activities.ok("GET", f"/v1/venues/{venue_id}", "instructor")["instructor_ids"] == STATIONED
    driver = activities.call("GET", "/v1/venues", driver=next(iter(activities.driver_tokens)))
    assert driver.status_code == 403
    for role in ("branch_secretary", "instructor", "operator"):
        body = {"name": "别处", "venue_kind": "other"}
        assert activities.call("POST", "/v1/venues", role, json=body).status_code == 403, role
        assert (
            activities.call(
                "PUT", f"/v1/venues/{venue_id}/instructors", role, json={"instructor_ids": []}
            ).status_code
            == 403
        ), role

    # Withdraw one, station another; the same list again changes (and publishes) nothing; rename.
    changed = ["ins-zhang", "ins-wang", "ins-chen"]
    moved = activities.ok("PUT", f"/v1/venues/{venue_id}/instructors", json={"instructor_ids": changed})
    assert moved["instructor_ids"] == changed
    again = activities.ok(
        "PUT", f"/v1/venues/{venue_id}/instructors", "org_department", json={"instructor_ids": changed}
    )
    assert again["version"] == moved["version"]
    renamed = activities.ok("PATCH", f"/v1/venues/{venue_id}", json={"name": "美姑县党员货车司机活动室"})
    assert (renamed["name"], renamed["instructor_ids"]) == ("美姑县党员货车司机活动室", changed)

    async def updated() -> list[dict[str, Any]]:
        found = await venue_events(stack_info, UPDATED, venue_id)
        return found if len(found) >= 2 else []

    first, second = await eventually(updated, message="two venue.updated on Kafka")
    assert len(await venue_events(stack_info, UPDATED, venue_id)) == 2, "the repeated PUT published nothing"
    assert first["data"]["instructor_ids"] == changed
    assert first["data"]["name"] == "公路养护中心党员货车司机活动室"
    assert (second["data"]["name"], second["data"]["instructor_ids"]) == ("美姑县党员货车司机活动室", changed)
    assert set(second["data"]) == set(VenueUpdated.model_fields)
    assert event["seq"] < first["seq"] < second["seq"], "one venue's events in order"


async def test_the_directory_decides_which_instructors_manage_a_venues_meetings(
    activities: Activities, pilot: dict[str, Any]
) -> None:
    room = activities.register_venue(venue_id="ven_maintenance_room", instructor_ids=STATIONED)
    driver = pilot["drivers"][0]

    # A stationed instructor schedules there; the meeting takes the venue's name and kind.
    body = {
        "organisation_id": pilot["branch"],
        "kind": "party_lesson",
        "topic": "安全驾驶与党员先锋作用",
        "starts_at": NOV_12.isoformat(),
        "venue_id": room["venue_id"],
        "mode": "offline",
    }
    refused = activities.call("POST", "/v1/meetings", instructor=ELSEWHERE, json=body)
    assert refused.status_code == 403, "not stationed there"
    lesson = activities.ok("POST", "/v1/meetings", instructor="ins-zhang", json=body)
    assert (lesson["venue_name"], lesson["venue_kind"]) == ("公路养护中心党员货车司机活动室", "activity_room")
    own = activities.ok("POST", "/v1/meetings", json={**body, "venue_name": "活动室二楼", "mode": "hybrid"})
    assert (own["venue_name"], own["venue_kind"]) == ("活动室二楼", "activity_room"), "given fields win"
    meeting_id = lesson["meeting_id"]

    def record(instructor: str, status: str) -> int:
        response = activities.call(
            "PUT",
            f"/v1/meetings/{meeting_id}/attendance",
            instructor=instructor,
            json={"records": [{"person_id": driver, "status": status}]},
        )
        return response.status_code

    assert record("ins-li", "on_site") == 200
    assert record(ELSEWHERE, "online") == 403
    assert activities.ok("GET", f"/v1/meetings/{meeting_id}")["attendance"][driver]["status"] == "on_site"
    listed = activities.call("GET", "/v1/meetings", instructor="ins-wang").json()["meetings"]
    assert meeting_id in [m["meeting_id"] for m in listed]
    assert activities.call("GET", "/v1/meetings", instructor=ELSEWHERE).json()["meetings"] == []

    # Withdrawn, ins-li manages it no more; stationed, ins-zhao does.
    activities.ok(
        "PUT",
        f"/v1/venues/{room['venue_id']}/instructors",
        json={"instructor_ids": ["ins-zhang", "ins-wang", ELSEWHERE]},
    )
    assert record("ins-li", "online") == 403
    assert record(ELSEWHERE, "online") == 200

    # A token's own venue (org_scope) still counts for a venue not in the directory.
    at_token_venue = activities.ok(
        "POST", "/v1/meetings", "instructor", json={**body, "venue_id": VENUE, "venue_kind": "activity_room"}
    )
    assert at_token_venue["venue_name"] is None
    missing_kind = activities.call("POST", "/v1/meetings", "instructor", json={**body, "venue_id": VENUE})
    assert missing_kind.status_code == 422
    assert missing_kind.json()["error"]["fields"][0]["field"] == "venue_kind"


def refusal(response: Any) -> tuple[int, str | None]:
    """The status and the field named (first field error, or the error's field)."""
    error = response.json()["error"]
    return response.status_code, (error.get("fields") or [{"field": error.get("field")}])[0].get("field")


async def test_refused_requests_name_the_field_and_leave_nothing_behind(
    activities: Activities, stack_info: StackInfo
) -> None:
    good = {"venue_id": "ven_repair_shop", "name": "美姑县汽车修理厂", "venue_kind": "repair_shop"}
    cases = [
        ({**good, "venue_kind": "tea_house"}, "venue_kind"),
        ({**good, "name": "   "}, "body.name"),
        ({**good, "name": ""}, "body.name"),
        ({**good, "name": "张三 13912345678 的修理厂"}, "name"),
        ({**good, "instructor_ids": ["ins-a", "ins-b", "ins-a"]}, "instructor_ids.2"),
        ({**good, "instructor_ids": ["ins-a", "13912345678"]}, "instructor_ids.1"),
        ({**good, "instructor_ids": ["513431198201010016"]}, "instructor_ids.0"),
        ({**good, "instructor_ids": ["ins.a"]}, "instructor_ids.0"),
        ({**good, "venue_id": "513431198201010016"}, "venue_id"),
        ({**good, "county": "zhaojue"}, "body.county"),
    ]
    for body, field in cases:
        assert refusal(activities.call("POST", "/v1/venues", json=body)) == (422, field), body
    assert activities.call("GET", "/v1/venues/ven_repair_shop").status_code == 404, "nothing half-written"
    listed = activities.ok("GET", "/v1/venues")["venues"]
    assert "ven_repair_shop" not in [v["venue_id"] for v in listed]
    assert "513431198201010016" not in str(listed)

    shop = activities.register_venue(**{**good, "instructor_ids": ["ins-a"]})
    assert refusal(activities.call("POST", "/v1/venues", json={**good, "name": "另一家"})) == (
        409,
        "venue_id",
    )
    for path, method, body in [
        ("/v1/venues/ven_repair_shop/instructors", "PUT", {"instructor_ids": ["ins-b", "ins-b"]}),
        ("/v1/venues/ven_repair_shop/instructors", "PUT", {"instructor_ids": ["13912345678"]}),
        ("/v1/venues/ven_repair_shop", "PATCH", {"name": " "}),
        ("/v1/venues/ven_repair_shop", "PATCH", {"venue_kind": "other"}),
    ]:
        assert refusal(activities.call(method, path, json=body))[0] == 422, body
    assert activities.ok("GET", "/v1/venues/ven_repair_shop") == shop, "unchanged by the refusals"
    assert refusal(activities.call("GET", "/v1/venues/ven_nowhere")) == (404, "venue_id")
    nowhere = activities.call("PUT", "/v1/venues/ven_nowhere/instructors", json={"instructor_ids": []})
    assert refusal(nowhere) == (404, "venue_id")
    assert refusal(activities.call("PATCH", "/v1/venues/ven_nowhere", json={"name": "x"})) == (
        404,
        "venue_id",
    )

    # The only event of the shop is its registration, with the one instructor it was registered with.
    async def registered() -> list[dict[str, Any]]:
        return await venue_events(stack_info, REGISTERED, "ven_repair_shop")

    [event] = await eventually(registered, message="venue.registered of the repair shop")
    assert event["data"]["instructor_ids"] == ["ins-a"]
    assert event["data"]["name"] == "美姑县汽车修理厂"
    assert await venue_events(stack_info, UPDATED, "ven_repair_shop") == []
