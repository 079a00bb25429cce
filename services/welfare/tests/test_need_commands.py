"""Every use case of the direct line (诉求直通车), in process on the in-memory store: what each command
changes, the events it raises, and what it refuses. tests/test_welfare_needs.py drives the same
commands over HTTP through a real welfare process, FerretDB and Kafka."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import pytest
from roadbranch_shared.aggregates import InMemoryAggregateStore
from roadbranch_shared.clock import Clock
from welfare.adapters.aggregates import SOURCE
from welfare.app.needs import Needs, NeedsDirectory
from welfare.domain.errors import WelfareError
from welfare.domain.needs import DEFAULT_TARGET_HOURS, Need

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
KNOWN = {"drv_1", "drv_2"}
ACTIVE = {"res_rescue", "res_legal"}


class World:
    """A Needs service on the in-memory store, a clock set to T0, two known drivers and two resources."""

    def __init__(self) -> None:
        self.store: InMemoryAggregateStore[Need] = InMemoryAggregateStore(Need, source=SOURCE)
        self.clock = Clock(controllable=True)
        self.clock.set(T0)
        self.resolved: list[tuple[str, float]] = []
        self.escalated: list[str] = []

        async def known(driver_id: str) -> None:
            if driver_id not in KNOWN:
                raise WelfareError(
                    "driver_id", "unknown_driver", "花名册中没有这名司机", WelfareError.NOT_FOUND
                )

        async def active(resource_ids: Collection[str]) -> set[str]:
            return ACTIVE & set(resource_ids)

        self.needs = Needs(
            self.store,
            NeedsDirectory(known, active),
            self.clock,
            DEFAULT_TARGET_HOURS,
            leader_id="leader-1",
            on_resolved=lambda category, seconds: self.resolved.append((category, seconds)),
            on_escalated=self.escalated.append,
        )

    async def file(self, driver_id: str = "drv_1", **given: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "category": "road_traffic",
            "urgency": "high",
            "description": "G348 K120 爆胎，需要救援",
            "location": {"text": "G348 K120 附近"},
            "by": "driver:" + driver_id,
            "by_staff": False,
        }
        return await self.needs.file(driver_id=driver_id, **{**fields, **given})

    def types(self) -> list[str]:
        return [e["type"] for e in self.store.published]


@pytest.fixture
def world() -> World:
    return World()


def refusal(error: pytest.ExceptionInfo[WelfareError]) -> tuple[str, str]:
    return error.value.field, error.value.reason


async def test_filing_records_the_need_and_raises_need_filed_without_his_words(world: World) -> None:
    need = await world.file()
    assert need["status"] == "filed"
    assert (need["due_at"] - need["filed_at"]).total_seconds() == 24 * 3600  # high urgency: 24 h
    assert [h["action"] for h in need["history"]] == ["filed"]
    (filed,) = world.store.events("roadbranch.welfare.need.filed.v1")
    assert filed["need_id"] == need["_id"]
    assert (filed["category"], filed["urgency"], filed["filed_by_staff"]) == ("road_traffic", "high", False)
    body = world.store.published[0]["body"]
    assert "爆胎" not in body
    assert "G348" not in body


async def test_a_medical_emergency_has_its_own_target(world: World) -> None:
    need = await world.file(category="medical", urgency="urgent")
    assert (need["due_at"] - need["filed_at"]).total_seconds() == 2 * 3600


@pytest.mark.parametrize(
    ("given", "field", "code"),
    [
        ({"category": "spaceship"}, "category", "unknown_category"),
        ({"urgency": "whenever"}, "urgency", "unknown_urgency"),
    ],
)
async def test_filing_refuses_unknown_choices(
    world: World, given: dict[str, str], field: str, code: str
) -> None:
    with pytest.raises(WelfareError) as refused:
        await world.file(**given)
    assert refusal(refused) == (field, code)
    assert world.store.documents == {}


async def test_filing_for_a_driver_the_roster_never_named_is_refused(world: World) -> None:
    with pytest.raises(WelfareError) as refused:
        await world.file("drv_made_up")
    assert refusal(refused) == ("driver_id", "unknown_driver")
    assert world.store.published == []


async def test_the_same_request_files_one_need(world: World) -> None:
    first = await world.file(request="a" * 64)
    again = await world.file(request="a" * 64)
    assert again["_id"] == first["_id"] == "need_" + "a" * 16
    assert len(world.store.documents) == 1
    assert world.types() == ["roadbranch.welfare.need.filed.v1"]


async def test_matching_names_unknown_resources_and_moves_a_new_need_to_matched(world: World) -> None:
    need = await world.file()
    with pytest.raises(WelfareError) as refused:
        await world.needs.match(need["_id"], ["res_rescue", "res_ghost", "res_ghost"], by="officer-1")
    assert refusal(refused) == ("resource_ids", "unknown_resource")
    assert "res_ghost" in refused.value.message
    assert refused.value.message.count("res_ghost") == 1

    matched = await world.needs.match(need["_id"], ["res_rescue"], by="officer-1")
    assert (matched["status"], matched["resource_ids"]) == ("matched", ["res_rescue"])
    assert world.store.events("roadbranch.welfare.need.matched.v1")[0]["resource_ids"] == ["res_rescue"]


async def test_assign_resolve_rate_in_order_with_their_events(world: World) -> None:
    need_id = (await world.file())["_id"]
    with pytest.raises(WelfareError) as refused:
        await world.needs.resolve(need_id, "已处理", by="handler-1")
    assert refusal(refused) == ("status", "wrong_status")

    assigned = await world.needs.assign(need_id, "handler-1", by="officer-1")
    assert (assigned["status"], assigned["handler_id"]) == ("assigned", "handler-1")
    world.clock.advance(3 * 3600)
    resolved = await world.needs.resolve(need_id, "已联系救援车辆", by="handler-1")
    assert resolved["status"] == "resolved"
    assert resolved["resolution"]["within_target"] is True
    assert world.resolved == [("road_traffic", pytest.approx(3 * 3600, abs=5))]

    rated = await world.needs.rate(need_id, 5, "很及时", driver_id="drv_1", by="driver:drv_1")
    assert rated["rating"]["rating"] == 5
    assert world.types() == [
        "roadbranch.welfare.need.filed.v1",
        "roadbranch.welfare.need.assigned.v1",
        "roadbranch.welfare.need.resolved.v1",
        "roadbranch.welfare.need.rated.v1",
    ]
    (rating_event,) = world.store.events("roadbranch.welfare.need.rated.v1")
    assert rating_event["has_comment"] is True
    assert "很及时" not in world.store.published[-1]["body"]
    assert world.store.documents[need_id]["version"] == 4


async def test_a_resolution_after_the_target_is_marked_late(world: World) -> None:
    need_id = (await world.file(urgency="urgent"))["_id"]  # 4 h
    await world.needs.assign(need_id, "handler-1", by="officer-1")
    world.clock.advance(5 * 3600)
    resolved = await world.needs.resolve(need_id, "已处理", by="handler-1")
    assert resolved["resolution"]["within_target"] is False
    assert world.store.events("roadbranch.welfare.need.resolved.v1")[0]["within_target"] is False


async def resolved_need(world: World) -> str:
    need_id = str((await world.file())["_id"])
    await world.needs.assign(need_id, "handler-1", by="officer-1")
    await world.needs.resolve(need_id, "已处理", by="handler-1")
    return need_id


async def test_rating_is_his_own_once_per_resolution_and_a_repeated_request_finds_its_rating(
    world: World,
) -> None:
    need_id = await resolved_need(world)
    with pytest.raises(WelfareError) as refused:
        await world.needs.rate(need_id, 0, "", driver_id="drv_1", by="driver:drv_1")
    assert refusal(refused) == ("rating", "out_of_range")
    with pytest.raises(WelfareError) as refused:
        await world.needs.rate(need_id, 4, "", driver_id="drv_2", by="driver:drv_2")
    assert refusal(refused) == ("need_id", "not_yours")

    await world.needs.rate(need_id, 4, "", driver_id="drv_1", by="driver:drv_1", request="r1")
    again = await world.needs.rate(need_id, 4, "", driver_id="drv_1", by="driver:drv_1", request="r1")
    assert again["rating"]["rating"] == 4
    with pytest.raises(WelfareError) as refused:
        await world.needs.rate(need_id, 2, "", driver_id="drv_1", by="driver:drv_1", request="r2")
    assert refusal(refused) == ("rating", "already_rated")
    assert world.types().count("roadbranch.welfare.need.rated.v1") == 1


async def test_reopening_starts_a_new_round_and_keeps_the_earlier_resolution(world: World) -> None:
    need_id = await resolved_need(world)
    await world.needs.rate(need_id, 2, "没解决", driver_id="drv_1", by="driver:drv_1")
    with pytest.raises(WelfareError) as refused:
        await world.needs.reopen(need_id, "还是不行", by="driver:drv_2", driver_id="drv_2")
    assert refusal(refused) == ("need_id", "not_yours")

    world.clock.advance(3600)
    reopened = await world.needs.reopen(
        need_id, "还是不行", by="driver:drv_1", driver_id="drv_1", request="k"
    )
    assert (reopened["status"], reopened["reopen_count"], reopened["resolution"]) == ("reopened", 1, None)
    assert reopened["round_started_at"] > reopened["filed_at"]
    assert (reopened["due_at"] - reopened["round_started_at"]).total_seconds() == 24 * 3600
    assert reopened["previous_resolutions"][0]["rating"]["rating"] == 2
    again = await world.needs.reopen(need_id, "还是不行", by="driver:drv_1", driver_id="drv_1", request="k")
    assert again["reopen_count"] == 1
    assert world.types().count("roadbranch.welfare.need.reopened.v1") == 1
    with pytest.raises(WelfareError) as refused:
        await world.needs.reopen(need_id, "再开", by="officer-1")
    assert refusal(refused) == ("status", "wrong_status")


async def test_an_overdue_need_escalates_once_a_round(world: World) -> None:
    need_id = (await world.file(urgency="urgent"))["_id"]
    await world.file("drv_2", urgency="low")  # a week: not due
    assert await world.needs.escalate_overdue() == 0

    world.clock.advance(5 * 3600)
    assert await world.needs.escalate_overdue() == 1
    assert await world.needs.escalate_overdue() == 0
    need = await world.needs.get(need_id)
    assert (need["escalated"], need["escalations"]) == (True, 1)
    (escalated,) = world.store.events("roadbranch.welfare.need.escalated.v1")
    assert (escalated["need_id"], escalated["leader_id"]) == (need_id, "leader-1")
    assert world.escalated == ["road_traffic"]

    await world.needs.assign(need_id, "handler-1", by="officer-1")
    await world.needs.resolve(need_id, "已处理", by="handler-1")
    await world.needs.reopen(need_id, "又坏了", by="officer-1")
    world.clock.advance(5 * 3600)
    assert await world.needs.escalate_overdue() == 1
    assert (await world.needs.get(need_id))["escalations"] == 2


async def test_erasure_removes_his_words_and_keeps_the_figures(world: World) -> None:
    need_id = await resolved_need(world)
    await world.needs.rate(need_id, 3, "一般般", driver_id="drv_1", by="driver:drv_1")
    await world.needs.reopen(need_id, "我的原话", by="driver:drv_1", driver_id="drv_1")
    other = (await world.file("drv_2"))["_id"]
    published = len(world.store.published)

    assert await world.needs.anonymise("drv_1", "erased_1") == 1
    need = await world.needs.get(need_id)
    assert (need["driver_id"], need["description"], need["location"]) == ("erased_1", "", None)
    assert need["driver_erased"] is True
    assert need["previous_resolutions"][0]["rating"] == {
        **need["previous_resolutions"][0]["rating"],
        "comment": "",
    }
    assert need["previous_resolutions"][0]["rating"]["rating"] == 3
    assert all("reason" not in h for h in need["history"])
    assert (await world.needs.get(other))["driver_id"] == "drv_2"
    assert len(world.store.published) == published  # erasure raises no event of its own here


async def test_pages_of_needs_by_driver_and_status(world: World) -> None:
    ids = [(await world.file(d))["_id"] for d in ("drv_1", "drv_2", "drv_1")]
    await world.needs.assign(ids[0], "handler-1", by="officer-1")
    mine = await world.needs.page(driver_id="drv_1")
    assert [n["_id"] for n in mine] == sorted([ids[0], ids[2]])
    assert [n["_id"] for n in await world.needs.page(status="assigned")] == [ids[0]]
    first, *_ = sorted(ids)
    assert [n["_id"] for n in await world.needs.page(limit=1)] == [first]
    assert [n["_id"] for n in await world.needs.page(after=first)] == sorted(ids)[1:]


async def test_an_unknown_need_is_not_found(world: World) -> None:
    for command in (
        world.needs.get("need_nope"),
        world.needs.assign("need_nope", "handler-1", by="officer-1"),
    ):
        with pytest.raises(WelfareError) as refused:
            await command
        assert refusal(refused) == ("need_id", "not_found")
