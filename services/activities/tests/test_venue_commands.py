"""The venue directory's use cases (活动阵地与蹲点指导员), in process on the in-memory store: what each
command stores and publishes, and what it refuses. tests/test_activities_venues.py drives the same
commands over HTTP through a real activities process, FerretDB and Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from activities.app.venues import SOURCE, Venues
from activities.domain.venues import Venue
from roadbranch_shared.aggregates import InMemoryAggregateStore
from roadbranch_shared.auth import Principal, Role
from roadbranch_shared.clock import Clock
from roadbranch_shared.domain import DomainError

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
OFFICER = Principal(subject="staff-org-1", role=Role.ORG_DEPARTMENT)
ROOM = {"venue_id": "ven_room", "name": " 党员货车司机活动室 ", "venue_kind": "activity_room"}


@pytest.fixture
def clock() -> Clock:
    clock = Clock(controllable=True, runs=False)
    clock.set(T0)
    return clock


@pytest.fixture
def store() -> InMemoryAggregateStore[Venue]:
    return InMemoryAggregateStore(Venue, source=SOURCE)


@pytest.fixture
def venues(store: InMemoryAggregateStore[Venue], clock: Clock) -> Venues:
    return Venues(store, clock, county="美姑县")


async def test_registering_stores_the_venue_and_publishes_it(
    venues: Venues, store: InMemoryAggregateStore[Venue]
) -> None:
    shown = await venues.register(OFFICER, {**ROOM, "instructor_ids": ["staff-ins-1"]})
    assert shown == {
        "venue_id": "ven_room",
        "name": "党员货车司机活动室",
        "venue_kind": "activity_room",
        "county": "美姑县",
        "instructor_ids": ["staff-ins-1"],
        "registered_by": "staff-org-1",
        "registered_at": T0,
        "updated_at": T0,
        "version": 1,
    }
    (registered,) = store.events("roadbranch.activities.venue.registered.v1")
    assert (registered["venue_id"], registered["name"], registered["county"]) == (
        "ven_room",
        "党员货车司机活动室",
        "美姑县",
    )
    assert store.published[0]["key"] == "ven_room"


async def test_a_venue_id_is_registered_once(venues: Venues) -> None:
    await venues.register(OFFICER, ROOM)
    with pytest.raises(DomainError) as refused:
        await venues.register(OFFICER, {**ROOM, "name": "另一处"})
    assert (refused.value.field, refused.value.reason) == ("venue_id", "exists")
    assert (await venues.view("ven_room"))["name"] == "党员货车司机活动室"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"name": "  "}, "name", "required"),
        ({"name": "13912345678 的家"}, "name", "contains_pii"),
        ({"venue_kind": "palace"}, "venue_kind", "unknown_venue"),
        ({"instructor_ids": ["staff-1", "staff-1"]}, "instructor_ids.1", "duplicate"),
        ({"venue_id": "ven_13912345678"}, "venue_id", "contains_pii"),
    ],
)
async def test_a_venue_with_bad_fields_is_refused_naming_the_field(
    venues: Venues, store: InMemoryAggregateStore[Venue], body: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(DomainError) as refused:
        await venues.register(OFFICER, {**ROOM, **body})
    assert (refused.value.field, refused.value.reason) == (field, reason)
    assert store.documents == {}
    assert store.published == []


async def test_renaming_and_stationing_publish_the_venue_as_it_is_now(
    venues: Venues, store: InMemoryAggregateStore[Venue], clock: Clock
) -> None:
    await venues.register(OFFICER, ROOM)
    clock.set(T0 + timedelta(days=1))
    renamed = await venues.rename("ven_room", OFFICER, "养护中心活动室")
    assert (renamed["name"], renamed["updated_at"], renamed["updated_by"]) == (
        "养护中心活动室",
        T0 + timedelta(days=1),
        "staff-org-1",
    )
    stationed = await venues.station("ven_room", OFFICER, ["staff-ins-1", "staff-ins-2"])
    assert (stationed["instructor_ids"], stationed["version"]) == (["staff-ins-1", "staff-ins-2"], 3)
    last = store.events("roadbranch.activities.venue.updated.v1")[-1]
    assert (last["name"], last["instructor_ids"]) == ("养护中心活动室", ["staff-ins-1", "staff-ins-2"])

    assert await venues.is_stationed("ven_room", "staff-ins-2")
    assert await venues.stations_of("staff-ins-1") == ["ven_room"]
    await venues.station("ven_room", OFFICER, ["staff-ins-2"])  # the one left out is withdrawn
    assert not await venues.is_stationed("ven_room", "staff-ins-1")
    assert await venues.stations_of("staff-ins-1") == []


async def test_a_change_to_what_it_already_is_writes_and_publishes_nothing(
    venues: Venues, store: InMemoryAggregateStore[Venue]
) -> None:
    await venues.register(OFFICER, {**ROOM, "instructor_ids": ["staff-ins-1"]})
    await venues.rename("ven_room", OFFICER, "党员货车司机活动室")
    await venues.station("ven_room", OFFICER, ["staff-ins-1"])
    assert len(store.published) == 1
    assert store.documents["ven_room"]["version"] == 1
    assert "updated_by" not in store.documents["ven_room"]


async def test_an_unknown_venue_is_not_found_and_a_bad_name_is_refused_first(venues: Venues) -> None:
    with pytest.raises(DomainError) as refused:
        await venues.rename("ven_nowhere", OFFICER, "某地")
    assert (refused.value.field, refused.value.reason) == ("venue_id", "not_found")
    with pytest.raises(DomainError) as refused:
        await venues.rename("ven_nowhere", OFFICER, " ")
    assert (refused.value.field, refused.value.reason) == ("name", "required")


async def test_the_directory_lists_by_name(venues: Venues) -> None:
    await venues.register(OFFICER, {**ROOM, "venue_id": "ven_b", "name": "修理厂"})
    await venues.register(
        OFFICER, {**ROOM, "venue_id": "ven_a", "name": "服务区驿站", "venue_kind": "rest_station"}
    )
    listed = await venues.listed()
    assert [v["name"] for v in listed] == sorted(["修理厂", "服务区驿站"])
