"""Warm-heart stations (暖心之家) through a real welfare process: directory, check-ins, nearest free beds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually, read_topic
from roadbranch_shared.topics import WELFARE_STATION
from welfare_support import Welfare

pytestmark = pytest.mark.integration

STAFFED = "stn_equgu"
SELF = "drv_station_self"


@pytest.fixture(scope="module")
def welfare(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Welfare]:
    running = Welfare(
        stack_info, tmp_path_factory.mktemp("welfare"), drivers=[SELF], station_scope=STAFFED
    ).start()
    yield running
    running.stop()


async def test_occupancy_never_exceeds_the_beds_under_concurrent_check_ins(
    welfare: Welfare, stack_info: StackInfo
) -> None:
    station = welfare.open_station(amenities={"beds": 3, "parking_spaces": 8, "rest_room": True})
    station_id = station["station_id"]
    drivers = [f"drv_rush_{i:02d}" for i in range(12)]
    welfare.register(*drivers)
    headers = {"Authorization": f"Bearer {welfare.tokens['welfare_officer']}"}
    async with httpx.AsyncClient(base_url=welfare.process.url, headers=headers, timeout=120) as client:
        answers = await asyncio.gather(
            *(client.post(f"/v1/stations/{station_id}/check-ins", json={"driver_id": d}) for d in drivers)
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 3 + [409] * 9, [a.text for a in answers]
    refusals = {a.json()["error"]["reason"] for a in answers if a.status_code == 409}
    assert refusals == {"no_free_bed"}
    shown = welfare.ok("GET", f"/v1/stations/{station_id}")
    assert (shown["occupied"], shown["free_beds"]) == (3, 0)
    stay_ids = {a.json()["stay_id"] for a in answers if a.status_code == 201}
    assert len(stay_ids) == 3

    guest = next(a.json()["driver_id"] for a in answers if a.status_code == 201)
    left = welfare.ok("POST", f"/v1/stations/{station_id}/check-outs", json={"driver_id": guest})
    assert left["occupied"] == 2
    again = welfare.call("POST", f"/v1/stations/{station_id}/check-outs", json={"driver_id": guest})
    assert (again.status_code, again.json()["error"]["reason"]) == (409, "not_checked_in")
    latecomer = next(d for d in drivers if d not in {a.json().get("driver_id") for a in answers})
    assert welfare.check_in(station_id, latecomer).status_code == 201
    assert welfare.check_in(station_id, latecomer).json()["error"]["reason"] == "already_checked_in"

    async def station_events() -> list[dict]:
        records = await read_topic(stack_info.kafka_bootstrap, WELFARE_STATION.name)
        events = [json.loads(r.value) for r in records if r.key == station_id.encode()]
        return events if len(events) >= 6 else []

    events = await eventually(station_events, message="the station's events")
    types = [e["type"].split(".")[-2] for e in events]
    assert types == ["opened", "checked_in", "checked_in", "checked_in", "checked_out", "checked_in"]
    assert max(e["data"].get("occupied", 0) for e in events) == 3


def test_station_staff_record_stays_at_their_own_station_only(welfare: Welfare) -> None:
    welfare.open_station(STAFFED, amenities={"beds": 2, "parking_spaces": 4})
    other = welfare.open_station(name="另一个驿站")["station_id"]
    assert welfare.check_in(STAFFED, "drv_staffed_1", "station_staff").status_code == 201
    assert welfare.check_in(other, "drv_staffed_2", "station_staff").status_code == 403
    seen = welfare.ok("GET", f"/v1/stations/{STAFFED}", "station_staff")
    assert "drv_staffed_1" in seen["guests"]
    assert "guests" not in welfare.ok("GET", f"/v1/stations/{STAFFED}", f"driver:{SELF}")
    mine = welfare.call("POST", f"/v1/stations/{STAFFED}/check-ins", f"driver:{SELF}", json={})
    assert (mine.status_code, mine.json()["driver_id"]) == (201, SELF)
    forged = welfare.call(
        "POST", f"/v1/stations/{other}/check-ins", f"driver:{SELF}", json={"driver_id": "drv_x"}
    )
    assert forged.status_code == 403
    assert welfare.call("POST", "/v1/stations", "station_staff", json={}).status_code == 403
    duplicate = welfare.call("POST", "/v1/stations", json={**_station_body(), "station_id": STAFFED})
    assert (duplicate.status_code, duplicate.json()["error"]["reason"]) == (409, "exists")


def _station_body() -> dict:
    return {
        "name": "测试驿站",
        "latitude": 28.0,
        "longitude": 103.0,
        "hours": {"open_all_day": True},
        "amenities": {"beds": 1},
    }


def test_bad_station_details_are_refused_naming_the_field(welfare: Welfare) -> None:
    body = _station_body()
    negative = welfare.call("POST", "/v1/stations", json={**body, "amenities": {"beds": -1}})
    assert negative.status_code == 422
    assert negative.json()["error"]["fields"][0]["field"] == "body.amenities.beds"
    no_hours = welfare.call("POST", "/v1/stations", json={**body, "hours": {}})
    assert (no_hours.status_code, no_hours.json()["error"]["fields"][0]["field"]) == (422, "body.hours")
    far = welfare.call("POST", "/v1/stations", json={**body, "latitude": 123})
    assert far.json()["error"]["fields"][0]["field"] == "body.latitude"
    # Loose types and unknown fields: false is no count, 0 no time, a misspelt field is named.
    for changed, field, reason in [
        ({"amenities": {"parking_spaces": False}}, "body.amenities.parking_spaces", "int_type"),
        ({"amenities": {"shower": 1}}, "body.amenities.shower", "bool_type"),
        ({"hours": {"opens": 0, "closes": "20:00"}}, "body.hours.opens", "value_error"),
        ({"amenitys": {"beds": 2}}, "body.amenitys", "extra_forbidden"),
    ]:
        refused = welfare.call("POST", "/v1/stations", json={**body, **changed})
        assert refused.status_code == 422, (changed, refused.text)
        [error] = refused.json()["error"]["fields"]
        assert (error["field"], error["reason"]) == (field, reason), changed
    whole = welfare.ok("POST", "/v1/stations", json={**body, "amenities": {"beds": 3.0}})
    assert whole["amenities"]["beds"] == 3  # 3.0 is the integer 3
    station = welfare.open_station(amenities={"beds": 2, "parking_spaces": 1})
    welfare.check_in(station["station_id"], "drv_fewer_1")
    welfare.check_in(station["station_id"], "drv_fewer_2")
    fewer = welfare.call("PATCH", f"/v1/stations/{station['station_id']}", json={"amenities": {"beds": 1}})
    assert (fewer.status_code, fewer.json()["error"]["fields"][0]["field"]) == (422, "amenities.beds")
    more = welfare.ok(
        "PATCH", f"/v1/stations/{station['station_id']}", json={"amenities": {"beds": 5, "shower": True}}
    )
    assert (more["amenities"]["beds"], more["free_beds"], more["amenities"]["shower"]) == (5, 3, True)


def test_a_driver_finds_the_nearest_open_stations_with_free_beds(welfare: Welfare) -> None:
    here = (27.50, 102.50)
    near_full = welfare.open_station(
        name="最近但已满", latitude=27.51, longitude=102.50, amenities={"beds": 1}
    )
    welfare.check_in(near_full["station_id"], "drv_near_full")
    closed = welfare.open_station(
        name="只在夜间开放",
        latitude=27.52,
        longitude=102.50,
        hours={"opens": "20:00", "closes": "06:00"},
        amenities={"beds": 3},
    )
    second = welfare.open_station(
        name="第二近",
        latitude=27.60,
        longitude=102.50,
        hours={"opens": "08:00", "closes": "18:00"},
        amenities={"beds": 2},
    )
    # Noon in Meigu (UTC+8): the day station is open, the night one closed.
    welfare.ok("PUT", "/v1/ops/clock", "operator", json={"now": "2026-11-28T04:00:00Z"})
    first = welfare.open_station(name="第一近", latitude=27.55, longitude=102.50, amenities={"beds": 2})
    found = welfare.ok(
        "GET",
        "/v1/stations/nearest",
        f"driver:{SELF}",
        params={"latitude": here[0], "longitude": here[1], "limit": 2},
    )["stations"]
    assert [s["station_id"] for s in found] == [first["station_id"], second["station_id"]]
    assert closed["station_id"] not in {s["station_id"] for s in found}
    assert 5.4 < found[0]["distance_km"] < 5.7  # 0.05 degrees of latitude
    assert all(s["free_beds"] > 0 for s in found)
    welfare.ok("PUT", "/v1/ops/clock", "operator", json={"now": "2026-11-28T14:00:00Z"})  # 22:00 local
    at_night = welfare.ok("GET", "/v1/stations/nearest", params={"latitude": here[0], "longitude": here[1]})
    night_ids = [s["station_id"] for s in at_night["stations"]]
    assert night_ids[:2] == [closed["station_id"], first["station_id"]]
    assert second["station_id"] not in night_ids
    bad = welfare.call("GET", "/v1/stations/nearest", params={"latitude": 300, "longitude": 1})
    assert bad.status_code == 422


def test_hours_with_a_utc_offset_are_stored_as_local_time_and_nearest_still_answers(welfare: Welfare) -> None:
    """Hours given with an offset once made every nearest-station search a 500."""
    offset = welfare.open_station(
        name="带时区的驿站",
        latitude=26.50,
        longitude=101.50,
        hours={"opens": "08:00:00+08:00", "closes": "10:00:00Z"},  # 10:00 UTC is 18:00 in Meigu
        amenities={"beds": 1},
    )
    assert offset["hours"] == {"open_all_day": False, "opens": "08:00:00", "closes": "18:00:00"}
    welfare.ok("PUT", "/v1/ops/clock", "operator", json={"now": "2026-11-28T04:00:00Z"})  # noon local
    found = welfare.ok("GET", "/v1/stations/nearest", params={"latitude": 26.5, "longitude": 101.5})
    assert found["stations"][0]["station_id"] == offset["station_id"]
    patched = welfare.ok(
        "PATCH",
        f"/v1/stations/{offset['station_id']}",
        json={"hours": {"opens": "00:00Z", "closes": "23:00"}},
    )
    assert (patched["hours"]["opens"], patched["hours"]["closes"]) == ("08:00:00", "23:00:00")
    assert (
        welfare.call("GET", "/v1/stations/nearest", params={"latitude": 1, "longitude": 1}).status_code == 200
    )


def test_usage_figures_per_station_and_month(welfare: Welfare) -> None:
    station = welfare.open_station(name="统计驿站", amenities={"beds": 5})["station_id"]
    for driver in ("drv_month_1", "drv_month_2"):
        assert welfare.check_in(station, driver).status_code == 201
    welfare.ok("POST", f"/v1/stations/{station}/check-outs", json={"driver_id": "drv_month_1"})
    figures = welfare.ok("GET", "/v1/figures/stations")
    row = next(r for r in figures["stations"] if r["station_id"] == station)
    ((month, usage),) = row["months"].items()
    assert (usage, row["check_ins"], row["occupied"], row["beds"]) == (
        {"check_ins": 2, "check_outs": 1},
        2,
        1,
        5,
    )
    only = welfare.ok("GET", "/v1/figures/stations", params={"month": month})
    assert next(r for r in only["stations"] if r["station_id"] == station)["check_ins"] == 2
    assert welfare.call("GET", "/v1/figures/stations", params={"month": "July"}).status_code == 422

    def occupancy_exported() -> bool:
        text = welfare.call("GET", "/metrics", "").text
        return f'roadbranch_welfare_station_occupancy{{station_id="{station}"}} 1.0' in text

    welfare.wait_for(occupancy_exported, message="the occupancy gauge")
