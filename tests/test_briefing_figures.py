"""The briefing's figures from real events: a real roster process for finding and connecting the
drivers, the other services' events published with the real broker, a real briefing process reading
every topic. Each test county has its own id, so other tests' events on the same topics don't count."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from briefing_support import Briefing, EventSource
from roadbranch_shared.contracts import activities as act
from roadbranch_shared.contracts import notify as nt
from roadbranch_shared.contracts import welfare as wf
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually, read_topic
from roster_support import Roster, synthetic_people
from welfare_support import Welfare

pytestmark = pytest.mark.integration

COUNTY = f"county{secrets.token_hex(3)}"
TERM = {"term_start": "2025-01-01", "term_end": "2029-12-31"}
COMPANY = synthetic_people("简报企业", 3, 1968)
PLATFORM = synthetic_people("简报平台", 2, 1969)
INDIVIDUAL = synthetic_people("简报个体", 1, 1970)
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running = Roster(stack_info, tmp_path_factory.mktemp("briefing-roster"), default_county=COUNTY).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def briefing(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Briefing]:
    running = Briefing(stack_info, tmp_path_factory.mktemp("briefing"), COUNTY, county_name="测试县").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def source(stack_info: StackInfo) -> AsyncIterator[EventSource]:
    async with EventSource(stack_info) as running:
        yield running


def created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def pilot(roster: Roster) -> dict[str, Any]:
    """Find and connect, through the roster's API: 6 drivers, 2 verified members (1 case left open),
    a committee of 3 with its secretary, a branch committee of 2, the work group, one pairing."""
    roster.import_drivers(COMPANY, source="freight_company")
    roster.import_drivers(PLATFORM, source="freight_platform")
    roster.import_drivers(INDIVIDUAL, source="individual")
    roster.cross_check(COMPANY)
    cases = sorted(
        roster.call("GET", "/v1/members?status=candidate").json()["members"], key=lambda c: c["member_id"]
    )
    assert len(cases) == 3
    verified = [c["member_id"] for c in cases[:2]]
    roster.verify(verified[0], method="phone_call")
    roster.verify(verified[1], method="field_visit")

    def org(kind: str, name: str, parent: str | None = None) -> str:
        body = {"kind": kind, "name": name, "parent_id": parent}
        return str(created(roster.call("POST", "/v1/organisations", json=body))["organisation_id"])

    def seat(org_id: str, role: str, person: str) -> None:
        body = {"role": role, "person_id": person, **TERM}
        created(roster.call("POST", f"/v1/organisations/{org_id}/seats", json=body))

    committee = org("industry_committee", "测试县交通运输行业党委")
    branch = org("branch", "测试县个体货车司机流动党员党支部", committee)
    work_group = org("work_group", "试点工作专班")
    for name in ("综合协调组", "党建指导组"):
        org("work_subgroup", name, work_group)
    for role, person in (("secretary", "staff-sec"), ("member", "staff-a"), ("member", "staff-b")):
        seat(committee, role, person)
    seat(branch, "secretary", "staff-branch")
    seat(branch, "member", "staff-c")
    seat(work_group, "co_leader", "staff-lead-1")
    seat(work_group, "co_leader", "staff-lead-2")
    for member_id in verified:
        created(roster.call("POST", f"/v1/members/{member_id}/assignment", json={"branch_id": branch}))
    pairing = {"committee_person_id": "staff-c", "member_ids": verified}
    created(roster.call("POST", f"/v1/organisations/{branch}/pairings", json=pairing))
    drivers = [d["driver_id"] for d in roster.call("GET", "/v1/drivers?limit=100").json()["drivers"]]
    member_drivers = [roster.call("GET", f"/v1/members/{m}").json()["driver_id"] for m in verified]
    return {
        "committee": committee,
        "branch": branch,
        "members": verified,
        "member_drivers": member_drivers,
        "drivers": drivers,
    }


def figures_settled(briefing: Briefing, part: str, expected: dict[str, Any]) -> Any:
    """A check for `eventually`: the part's figures once they include `expected`, else None."""

    async def check() -> dict[str, Any] | None:
        got = briefing.figures()[part]
        return got if all(got.get(k) == v for k, v in expected.items()) else None

    return check


async def test_finding_and_connecting_are_counted_from_the_roster_events(
    pilot: dict[str, Any], briefing: Briefing
) -> None:
    # Drivers, members, organisations and pairings travel on different keys (partitions): each figure
    # is awaited, not only the last one written.
    find = {
        "drivers_checked": 6,
        "drivers_by_source": {"freight_company": 3, "freight_platform": 2, "individual": 1},
        "candidates_found": 3,
        "members_verified": 2,
        "verified_by_method": {"field_visit": 1, "phone_call": 1},
        "ledger_files": 2,
    }
    await eventually(
        figures_settled(briefing, "find", find), message="the roster's drivers and members reach the briefing"
    )
    connect = {
        "industry_committees": 1,
        "industry_committee_members": 3,
        "industry_committee_secretary_id": "staff-sec",
        "branches": 1,
        "branch_committee_members": 2,
        "branch_secretaries": 1,
        "party_groups": 0,
        "work_group_co_leaders": 2,
        "work_subgroups": 2,
        "pairings": 1,
        "members_paired": 2,
    }
    settled = await eventually(
        figures_settled(briefing, "connect", connect), message="the organisation arrives"
    )
    assert settled == connect, "nothing beyond the expected figures"


async def test_meetings_needs_and_deliveries_are_counted_once_each(
    pilot: dict[str, Any], briefing: Briefing, source: EventSource, stack_info: StackInfo
) -> None:
    branch, driver = pilot["branch"], pilot["drivers"][0]
    lesson = f"mtg_{secrets.token_hex(4)}"
    held_at = NOW - timedelta(hours=2)
    await source.emit(
        lesson,
        act.MeetingScheduled(
            meeting_id=lesson,
            organisation_id=branch,
            kind="party_lesson",
            title="身边的先进事迹",
            starts_at=held_at,
            venue_kind="repair_shop",
            venue_name="俄普修理厂",
            mode="hybrid",
            host_id="staff-sec",
            invitee_driver_ids=pilot["drivers"][:4],
            scheduled_at=NOW - timedelta(days=2),
        ),
    )
    held = act.MeetingHeld(
        meeting_id=lesson,
        organisation_id=branch,
        kind="party_lesson",
        held_at=held_at,
        venue_kind="repair_shop",
        mode="hybrid",
        host_id="staff-sec",
        invited=4,
        present_on_site=2,
        present_online=1,
        on_leave=1,
        absent=0,
    )
    held_envelope = await source.emit(lesson, held)
    await source.emit(
        lesson,
        act.LessonHeld(
            meeting_id=lesson,
            organisation_id=branch,
            held_at=held_at,
            venue_kind="repair_shop",
            lecturer_id="staff-sec",
            present=3,
            invited=4,
        ),
    )
    await source.publish(held_envelope, held)  # a redelivery of an older event changes nothing
    day = f"mtg_{secrets.token_hex(4)}"
    await source.emit(
        day,
        act.MeetingHeld(
            meeting_id=day,
            organisation_id=branch,
            kind="theme_party_day",
            held_at=held_at,
            venue_kind="activity_room",
            mode="offline",
            oath_renewal=True,
            invited=2,
            present_on_site=2,
            present_online=0,
            on_leave=0,
            absent=0,
        ),
    )
    elsewhere = f"mtg_{secrets.token_hex(4)}"  # another county's branch: not ours
    await source.emit(
        elsewhere,
        act.MeetingHeld(
            meeting_id=elsewhere,
            organisation_id="org_of_another_county",
            kind="party_lesson",
            held_at=held_at,
            venue_kind="online",
            mode="online",
            invited=9,
            present_on_site=0,
            present_online=9,
            on_leave=0,
            absent=0,
        ),
    )
    for category in ("road_safety", "theory_policy"):
        content = f"cnt_{secrets.token_hex(4)}"
        await source.emit(
            content,
            act.ContentPublished(
                content_id=content, organisation_id=branch, category=category, title="学习", published_at=NOW
            ),
        )

    need = f"need_{secrets.token_hex(4)}"
    filed_at = NOW - timedelta(hours=6)
    await source.emit(
        need,
        wf.NeedFiled(need_id=need, driver_id=driver, category="medical", urgency="normal", filed_at=filed_at),
    )
    await source.emit(
        need,
        wf.NeedResolved(
            need_id=need,
            driver_id=driver,
            category="medical",
            urgency="normal",
            filed_at=filed_at,
            resolved_at=filed_at + timedelta(hours=4),
            within_target=True,
        ),
    )
    await source.emit(need, wf.NeedRated(need_id=need, driver_id=driver, rating=5, rated_at=NOW))

    def sent(channel: str) -> nt.DeliverySent:
        return nt.DeliverySent(
            delivery_id=f"dlv_{secrets.token_hex(4)}",
            recipient_driver_id=driver,
            channel=channel,
            template="meeting_reminder",
            caused_by_event_id="evt",
            sent_at=NOW,
        )

    sms = sent("sms")
    sms_envelope = await source.emit(sms.delivery_id, sms)
    await source.publish(sms_envelope, sms)  # redelivered: still one message
    await source.raw("notify.delivery.v1", "poison", b"{not json")
    wechat = sent("wechat")
    await source.emit(wechat.delivery_id, wechat)
    failed = nt.DeliveryFailed(
        delivery_id="dlv_x",
        recipient_driver_id=driver,
        channel="email",
        template="meeting_reminder",
        caused_by_event_id="evt",
        reason="mailbox_unavailable",
        permanent=True,
        failed_at=NOW,
    )
    await source.emit(failed.delivery_id, failed)
    # A notice to a member of staff is not one to a driver, whatever id it names (a secretary may
    # be a driver too): the briefing leaves it out.
    to_staff = sent("sms").model_copy(update={"recipient_kind": "staff"})
    await source.emit(to_staff.delivery_id, to_staff)

    gather = await eventually(
        figures_settled(briefing, "gather", {"meetings_held": 2, "content_pushes": 2}),
        timeout=60,
        message="the meetings and content reach the briefing",
    )
    assert gather["held_by_kind"] == {"party_lesson": 1, "theme_party_day": 1}
    assert (gather["party_lessons"], gather["party_lessons_by_committee_secretary"]) == (1, 1)
    assert (gather["lessons_at_repair_shops"], gather["theme_party_days"], gather["oath_renewals"]) == (
        1,
        1,
        1,
    )
    assert gather["attendance_rate"] == round(5 / 6, 4)
    assert gather["pushes_by_category"] == {"road_safety": 1, "theory_policy": 1}
    # The rating follows the resolution, and each delivery has its own key: all are awaited.
    need = {
        "needs_filed": 1,
        "needs_resolved": 1,
        "median_hours_to_resolve": 4.0,
        "average_rating": 5.0,
        "resolved_within_target": 1.0,
    }
    await eventually(figures_settled(briefing, "warm", need), message="the need, resolved and rated")
    deliveries = {"sent_by_channel": {"sms": 1, "wechat": 1}, "failed_by_channel": {"email": 1}}
    notify = await eventually(
        figures_settled(briefing, "notify", deliveries),
        message="deliveries after the poison record are still counted, the redelivery once",
    )
    assert notify == deliveries

    parked = [
        r
        for r in await read_topic(stack_info.kafka_bootstrap, "notify.delivery.v1.dlq")
        if dict(r.headers).get("dlq-consumer-group", b"").decode()
        == f"{briefing.group_id}.notify.delivery.v1"
    ]
    assert [dict(r.headers)["dlq-reason"].decode() for r in parked] == ["not_json"]


async def test_the_briefing_says_the_figures_in_the_seed_structure(
    pilot: dict[str, Any], briefing: Briefing
) -> None:
    await eventually(figures_settled(briefing, "find", {"drivers_checked": 6}), timeout=60, message="drivers")
    text = briefing.call("GET", "/v1/briefing", params={"period": "all"}).text
    assert text.startswith("# 做好货车司机党建宣传工作简报")
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings[:2] == ["全力摸清底数，把党员货车司机“找出来”", "健全组织体系，把党员货车司机“联起来”"]
    assert "共核查货车司机6名（传统道路货运企业3名、互联网货运平台企业2名、个体货车司机1名）" in text
    assert "甄别党员货车司机2名" in text
    assert "选优配强行业党委委员3名" in text
    assert "设“双组长”2名，下设2个工作小组" in text
    html = briefing.call("GET", "/v1/briefing", params={"period": "all", "format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "<h2>全力摸清底数，把党员货车司机“找出来”</h2>" in html.text

    # A period with no work in it has a title and an opening, and no parts.
    empty = briefing.call("GET", "/v1/briefing", params={"period": "2020-01"}).text
    assert "2020年1月" in empty
    assert "## " not in empty


async def test_the_figures_are_gauges_and_the_api_refuses_bad_periods_and_drivers(
    pilot: dict[str, Any], briefing: Briefing
) -> None:
    line = f'roadbranch_briefing_figure{{county="{COUNTY}",figure="drivers_checked",key="",part="find"}} 6.0'

    async def exported() -> bool:
        return line in briefing.call("GET", "/metrics", role="").text

    await eventually(exported, timeout=60, message="the gauge shows the figure")
    for period in ("2026-13", "0000", "9999", "9999-12-31..9999-12-31"):  # years no date can hold
        bad = briefing.call("GET", "/v1/figures", params={"period": period})
        assert bad.status_code == 422, (period, bad.text)
        assert bad.json()["error"]["fields"][0]["field"] == "query.period"
    impossible = briefing.call("GET", "/v1/figures", params={"period": "2026-02-30..2026-03-01"})
    assert impossible.status_code == 422, impossible.text
    [field] = impossible.json()["error"]["fields"]
    assert (field["field"], field["reason"]) == ("query.period", "invalid_period")
    assert "日期无效" in field["message"]
    assert briefing.call("GET", "/v1/figures", role="driver").status_code == 403
    assert briefing.call("GET", "/v1/briefing", role="").status_code == 401


@pytest.fixture(scope="module")
def welfare(
    stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory, pilot: dict[str, Any]
) -> Iterator[Welfare]:
    running = Welfare(stack_info, tmp_path_factory.mktemp("briefing-welfare"), county=COUNTY).start()
    yield running
    running.stop()


async def test_stations_and_care_campaigns_from_a_real_welfare_process(
    pilot: dict[str, Any], briefing: Briefing, welfare: Welfare
) -> None:
    members = set(pilot["member_drivers"])
    drivers = sorted(pilot["drivers"], key=lambda d: (d not in members, d))  # the 2 members first
    for driver in drivers:
        welfare.wait_for(lambda d=driver: welfare.knows(d, member=d in members), message="welfare knows him")
    welfare.open_station("stn_briefing")
    for driver in drivers[:3]:
        assert welfare.check_in("stn_briefing", driver).status_code == 201
    welfare.play_care_campaigns(drivers, items=20, problems={drivers[5]: "certificate_review"})

    # Three campaigns (three keys) and a station: every figure is awaited, not only the first to come.
    expected = {
        "campaigns": 3,
        "problems_solved": 1,
        "check_ins": 3,
        "stations": 1,
        "station_beds": 4,
        "station_names": ["峨曲古乡公路养护站暖心之家"],
        "members_visited": 2,
        "non_members_visited": 4,
        "visits_to_members": 2,
        "visits_to_non_members": 4,
        "items_handed_out": 20,
    }
    warm = await eventually(
        figures_settled(briefing, "warm", expected),
        message="the station and the campaigns reach the briefing",
    )
    assert sum(warm["items_by_kind"].values()) == 20
    assert warm["item_labels"] == {
        "epidemic_supplies": "防疫物资",
        "gloves": "手套",
        "heatstroke_relief": "防暑降温用品",
    }
    assert warm["problems_by_category"] == {"certificate_review": 1}
    # The gauges carry the breakdowns of counts too (not the items' labels, which are text).
    items = f'roadbranch_briefing_figure{{county="{COUNTY}",figure="items_by_kind",key="gloves",part="warm"}}'

    async def gauged() -> bool:
        return items in briefing.call("GET", "/metrics", role="").text

    await eventually(gauged, timeout=30, message="the warm figures as gauges")
    text = briefing.call("GET", "/v1/briefing").text
    assert "开展“送温暖、送健康、送服务”活动3次，慰问党员司机2名，非党员司机4人" in text
    assert "发放防疫物资、手套、防暑降温用品等物品20件，帮助货车司机解决证件年审等困难问题1件" in text


async def test_a_committee_seat_ended_early_stops_counting_in_the_periods_after_its_end(
    pilot: dict[str, Any], roster: Roster, briefing: Briefing
) -> None:
    # 选优配强委员N名 is the committee as it stood in the period: a member whose term ended last
    # month still counts in a period his last day is in, no longer in this month.
    committee = pilot["committee"]
    today = datetime.now(timezone(timedelta(hours=8))).date()
    month, last_day = f"{today:%Y-%m}", today.replace(day=1) - timedelta(days=1)
    await eventually(
        figures_settled(briefing, "connect", {"industry_committee_members": 3}), message="the committee"
    )
    assert briefing.figures(month)["connect"]["industry_committee_members"] == 3
    seats = created(roster.call("GET", f"/v1/organisations/{committee}"))["seats"]
    [seat] = [s for s in seats if s["person_id"] == "staff-b"]
    end = {"term_end": last_day.isoformat()}
    created(roster.call("POST", f"/v1/organisations/{committee}/seats/{seat['seat_id']}/end", json=end))

    connect = await eventually(
        _figures_of(briefing, month, {"industry_committee_members": 2}), message="the end of staff-b's term"
    )
    assert connect["industry_committee_secretary_id"] == "staff-sec"
    assert connect["branch_committee_members"] == 2, "other committees are unchanged"
    assert "选优配强行业党委委员2名" in briefing.call("GET", "/v1/briefing", params={"period": month}).text
    since = briefing.figures("all")["connect"]
    assert (since["industry_committee_members"], since["industry_committee_secretary_id"]) == (3, "staff-sec")
    held_then = briefing.figures(f"{last_day.isoformat()}..{today.isoformat()}")["connect"]
    assert held_then["industry_committee_members"] == 3, "a period with his last day in it counts him"


def _figures_of(briefing: Briefing, period: str, expected: dict[str, Any]) -> Any:
    """`figures_settled` for another period than the whole pilot."""

    async def check() -> dict[str, Any] | None:
        got = briefing.figures(period)["connect"]
        return got if all(got.get(k) == v for k, v in expected.items()) else None

    return check


async def test_words_their_speaker_took_back_leave_the_briefing_and_a_replay_brings_none_back(
    pilot: dict[str, Any], briefing: Briefing, source: EventSource
) -> None:
    branch, speaker = pilot["branch"], pilot["drivers"][1]
    meeting = f"mtg_{secrets.token_hex(4)}"
    said_at = NOW - timedelta(hours=1)

    def said(quote_id: str, text: str) -> act.QuoteRecorded:
        return act.QuoteRecorded(
            meeting_id=meeting,
            organisation_id=branch,
            kind="party_lesson",
            quote_id=quote_id,
            speaker_id=speaker,
            text=text,
            consent_at=said_at,
            recorded_at=said_at,
        )

    def quoted() -> list[str]:
        return [q["text"] for q in briefing.figures()["gather"]["quotes"]]

    def shown(text: str, present: bool = True) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return (text in quoted()) == present

        return check

    first = said(f"quo_{secrets.token_hex(4)}", "跑车再远，支部一直在身边。")
    recorded = await source.emit(meeting, first)
    await eventually(shown(first.text), message="his words in the briefing")
    await source.emit(
        meeting,
        act.QuoteWithdrawn(
            meeting_id=meeting,
            organisation_id=branch,
            kind="party_lesson",
            quote_id=first.quote_id,
            speaker_id=speaker,
            withdrawn_at=said_at + timedelta(minutes=30),
        ),
    )
    await eventually(shown(first.text, False), message="his words gone once taken back")
    # A redelivery of the older quote.recorded, then later words of his: the old words stay out.
    await source.publish(recorded, first)
    later = said(f"quo_{secrets.token_hex(4)}", "学习点滴都在手机上，方便。")
    await source.emit(meeting, later)
    await eventually(shown(later.text), message="his later words")
    assert first.text not in quoted()
