"""The welfare domain's rules without servers: response-time targets, escalation, station hours and
distance, occupancy, and the stock ledger's refusals."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from welfare.domain import campaigns, needs, stations
from welfare.domain.errors import WelfareError

FILED = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_a_category_urgency_target_overrides_the_urgency_default() -> None:
    targets = needs.DEFAULT_TARGET_HOURS
    assert needs.due_at(targets, "medical", "urgent", FILED) == FILED + timedelta(hours=2)
    assert needs.due_at(targets, "rights", "urgent", FILED) == FILED + timedelta(hours=4)
    assert needs.due_at(targets, "other", "low", FILED) == FILED + timedelta(days=7)


@pytest.mark.parametrize(
    "targets",
    [
        {"low": 1, "normal": 1, "high": 1},  # an urgency without a target
        {"low": 1, "normal": 1, "high": 1, "urgent": 0},
        {"low": 1, "normal": 1, "high": 1, "urgent": 1, "lottery:urgent": 1},
        {"low": 1, "normal": 1, "high": 1, "urgent": 1, "medical:someday": 1},
    ],
)
def test_incomplete_or_unknown_targets_are_refused_at_start(targets: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="target"):
        needs.check_targets(targets)


def test_only_an_open_unescalated_need_past_its_target_escalates() -> None:
    need = {"status": "assigned", "escalated": False, "due_at": FILED}
    assert needs.is_past_due(need, FILED)
    assert not needs.is_past_due(need, FILED - timedelta(seconds=1))
    assert not needs.is_past_due({**need, "escalated": True}, FILED + timedelta(days=1))
    assert not needs.is_past_due({**need, "status": "resolved"}, FILED + timedelta(days=1))


def test_open_needs_are_bucketed_by_age() -> None:
    assert [needs.age_bucket(timedelta(days=d)) for d in (0.5, 2, 5, 9)] == [
        "under_1d",
        "1d_3d",
        "3d_7d",
        "over_7d",
    ]


def test_a_rating_outside_one_to_five_and_a_wrong_status_are_refused() -> None:
    with pytest.raises(WelfareError) as invalid:
        needs.check_rating(0)
    assert (invalid.value.field, invalid.value.status) == ("rating", WelfareError.INVALID)
    with pytest.raises(WelfareError) as conflict:
        needs.require_status({"status": "filed"}, ("assigned",), "办结")
    assert (conflict.value.reason, conflict.value.status) == ("wrong_status", WelfareError.CONFLICT)


def test_hours_running_past_midnight() -> None:
    night = stations.Hours(opens=time(20), closes=time(6))
    assert night.is_open(time(23))
    assert night.is_open(time(2))
    assert not night.is_open(time(12))
    day = stations.Hours(opens=time(8), closes=time(18))
    assert day.is_open(time(8))
    assert not day.is_open(time(18))
    assert stations.Hours(open_all_day=True).is_open(time(3))
    with pytest.raises(ValueError, match="opens"):
        stations.Hours(opens=time(8))


def test_hours_with_an_offset_become_local_time() -> None:
    hours = stations.Hours.model_validate({"opens": "08:00:00+08:00", "closes": "22:30Z"})
    assert (hours.opens, hours.closes) == (time(8), time(6, 30))  # 22:30 UTC is 06:30 in Meigu
    assert hours.is_open(time(7)) is False
    assert hours.is_open(time(9))


def test_haversine_distance() -> None:
    # One degree of latitude is about 111.2 km anywhere; Chengdu to Xichang is about 355 km as the crow flies.
    assert stations.haversine_km(28.0, 103.0, 29.0, 103.0) == pytest.approx(111.2, abs=0.1)
    assert stations.haversine_km(30.66, 104.07, 27.89, 102.26) == pytest.approx(355, rel=0.05)


def test_a_full_station_and_a_guest_already_in_are_refused() -> None:
    station = {"status": "open", "amenities": {"beds": 1}, "occupied": 1, "guests": {"drv_a": {}}}
    with pytest.raises(WelfareError) as full:
        stations.check_can_check_in(station, "drv_b")
    assert full.value.reason == "no_free_bed"
    with pytest.raises(WelfareError) as twice:
        stations.check_can_check_in({**station, "occupied": 0, "amenities": {"beds": 2}}, "drv_a")
    assert twice.value.reason == "already_checked_in"
    assert stations.Amenities(rest_room=True, beds=2, parking_spaces=0).offered() == ["rest_room", "beds"]


def test_issuing_more_than_on_hand_names_the_item_and_nothing_is_issued_below_zero() -> None:
    stock = {
        "gloves": {"label": "手套", "received": 10, "issued": 8},
        "epidemic_supplies": {"received": 5, "issued": 0},
    }
    assert campaigns.on_hand(stock, "gloves") == 2
    assert campaigns.on_hand(stock, "masks") == 0
    campaigns.check_issue(stock, {"gloves": 2, "epidemic_supplies": 5})
    with pytest.raises(WelfareError) as short:
        campaigns.check_issue(stock, {"epidemic_supplies": 1, "gloves": 3})
    error = short.value
    assert (error.field, error.reason, error.details["item"], error.details["on_hand"]) == (
        "items.gloves",
        "insufficient_stock",
        "gloves",
        2,
    )
    assert "手套" in error.message
    with pytest.raises(WelfareError, match="物品代码"):
        campaigns.check_issue(stock, {"Gloves!": 1})
