"""The briefing's rules without servers: periods, figures from view documents, and the text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from briefing.app.figures import COLLECTIONS
from briefing.domain.figures import View, compute
from briefing.domain.periods import PeriodError, parse_period
from briefing.domain.text import compose, render


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def view(**docs: list[dict[str, Any]]) -> View:
    empty: dict[str, list[dict[str, Any]]] = {name: [] for name in (*COLLECTIONS, "deliveries")}
    return View(**{**empty, **docs})


@pytest.mark.parametrize(
    ("text", "start", "end", "title"),
    [
        ("2026", date(2026, 1, 1), date(2027, 1, 1), "2026年"),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1), "2026年第四季度"),
        ("2026-02", date(2026, 2, 1), date(2026, 3, 1), "2026年2月"),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "2026年12月"),
        ("2026-03-05..2026-03-05", date(2026, 3, 5), date(2026, 3, 6), "2026年03月05日至2026年03月05日"),
    ],
)
def test_periods_are_half_open_ranges_of_local_days(text: str, start: date, end: date, title: str) -> None:
    period = parse_period(text)
    assert (period.start, period.end, period.title) == (start, end, title)


@pytest.mark.parametrize(
    "text",
    [
        "2026-13",
        "2026-Q5",
        "last year",
        "2026-03-05..2026-03-01",
        "2026-02-30..2026-03-01",
        "0000",
        "9999",
        "9999-Q4",
        "1999-12",
        "2026-01-01..9999-12-31",
    ],
)
def test_an_unreadable_period_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)


def test_a_moment_counts_in_the_local_day_of_the_county() -> None:
    march = parse_period("2026-03")
    # 16:30 UTC on 31 March is 00:30 on 1 April in China Standard Time.
    assert not march.contains(datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
    assert march.contains(datetime(2026, 3, 31, 15, 30, tzinfo=UTC))


def test_flows_count_inside_the_period_and_only_drivers_of_the_county() -> None:
    drivers = [
        {"_id": "d1", "county": "meigu", "source": "individual", "registered_at": at("2026-03-02")},
        {"_id": "d2", "county": "meigu", "source": "freight_company", "registered_at": at("2026-04-02")},
        {"_id": "d3", "county": "leibo", "source": "individual", "registered_at": at("2026-03-02")},
    ]
    members = [
        {
            "_id": "m1",
            "driver_id": "d1",
            "status": "verified",
            "verified_at": at("2026-03-05"),
            "method": "phone_call",
        },
        {
            "_id": "m3",
            "driver_id": "d3",
            "status": "verified",
            "verified_at": at("2026-03-05"),
            "method": "phone_call",
        },
    ]
    march = compute(view(drivers=drivers, members=members), "meigu", parse_period("2026-03"))
    assert (march.find.drivers_checked, march.find.drivers_by_source) == (1, {"individual": 1})
    assert (march.find.members_verified, march.find.ledger_files) == (1, 1)
    april = compute(view(drivers=drivers, members=members), "meigu", parse_period("2026-04"))
    # The file opened in March is still kept in April; no one was verified in April.
    assert (april.find.drivers_checked, april.find.members_verified, april.find.ledger_files) == (1, 0, 1)


def test_the_organisation_is_its_state_at_the_end_of_the_period() -> None:
    seats = {
        "s1": {"role": "secretary", "person_id": "p1", "assigned_at": at("2026-03-01"), "term_end": None},
        "s2": {"role": "member", "person_id": "p2", "assigned_at": at("2026-05-01"), "term_end": None},
        "s3": {
            "role": "member",
            "person_id": "p3",
            "assigned_at": at("2026-01-01"),
            "term_end": "2026-02-01",
        },
    }
    orgs = [
        {
            "_id": "c",
            "kind": "industry_committee",
            "county": "meigu",
            "created_at": at("2026-01-01"),
            "seats": seats,
        }
    ]
    meetings = [
        {
            "_id": "l1",
            "kind": "party_lesson",
            "organisation_id": "c",
            "status": "held",
            "held_at": at("2026-03-09"),
            "lecturer_id": "p1",
            "venue_kind": "repair_shop",
            "invited": 4,
            "present_on_site": 2,
            "present_online": 1,
        },
        {
            "_id": "l2",
            "kind": "party_lesson",
            "organisation_id": "c",
            "status": "held",
            "held_at": at("2026-03-19"),
            "lecturer_id": "p9",
            "venue_kind": "activity_room",
            "invited": 4,
            "present_on_site": 4,
            "present_online": 0,
        },
        {
            "_id": "l3",
            "kind": "party_lesson",
            "organisation_id": "c",
            "status": "cancelled",
            "starts_at": at("2026-03-20"),
        },
    ]
    march = compute(view(organisations=orgs, meetings=meetings), "meigu", parse_period("2026-03"))
    assert march.connect.industry_committee_members == 1  # p2 comes in May; p3's term ended in January
    assert march.connect.industry_committee_secretary_id == "p1"
    assert (march.gather.party_lessons, march.gather.party_lessons_by_committee_secretary) == (2, 1)
    assert march.gather.lessons_at_repair_shops == 1
    assert march.gather.attendance_rate == 0.875


def test_a_seat_ended_early_counts_in_the_periods_it_was_held_in_only() -> None:
    # As the projection keeps a SeatEnded: the seat's fields, its term cut short, the end's time.
    seats = {
        "s1": {"role": "secretary", "person_id": "p1", "assigned_at": at("2026-01-05"), "term_end": None},
        "s2": {
            "role": "member",
            "person_id": "p2",
            "assigned_at": at("2026-01-05"),
            "term_start": "2026-01-01",
            "term_end": "2026-04-15",
            "ended_at": at("2026-04-20"),
        },
        # Known from its end only (the view never saw it assigned): no figure can date it.
        "s3": {"role": "member", "person_id": "p3", "term_start": "2025-01-01", "term_end": "2026-06-30"},
    }
    orgs = [
        {
            "_id": "c",
            "kind": "industry_committee",
            "county": "meigu",
            "created_at": at("2026-01-01"),
            "seats": seats,
        }
    ]
    members = {
        label: compute(
            view(organisations=orgs), "meigu", parse_period(label)
        ).connect.industry_committee_members
        for label in ("2026-Q1", "2026-04", "2026-05", "2026", "all")
    }
    assert members == {"2026-Q1": 2, "2026-04": 2, "2026-05": 1, "2026": 2, "all": 2}


def test_needs_give_median_time_to_resolve_and_share_within_target() -> None:
    needs = [
        {
            "_id": "n1",
            "category": "medical",
            "filed_at": at("2026-03-01", 8),
            "status": "resolved",
            "resolved_at": at("2026-03-01", 10),
            "within_target": True,
            "rating": 5,
        },
        {
            "_id": "n2",
            "category": "medical",
            "filed_at": at("2026-03-01", 8),
            "status": "resolved",
            "resolved_at": at("2026-03-02", 8),
            "within_target": False,
            "rating": 3,
        },
        {"_id": "n3", "category": "certificate_review", "filed_at": at("2026-03-03", 8), "status": "open"},
    ]
    for need in needs:
        need["driver_id"] = "d1"
    strangers = [{**needs[0], "_id": "n4", "driver_id": "d9"}]  # a driver of another county
    drivers = [{"_id": "d1", "county": "meigu"}, {"_id": "d9", "county": "leibo"}]
    warm = compute(view(drivers=drivers, needs=needs + strangers), "meigu", parse_period("2026-03")).warm
    assert (warm.needs_filed, warm.needs_resolved) == (3, 2)
    assert warm.needs_by_category == {"certificate_review": 1, "medical": 2}
    assert (warm.median_hours_to_resolve, warm.resolved_within_target, warm.average_rating) == (
        13.0,
        0.5,
        4.0,
    )


def test_the_text_leaves_out_what_was_not_done_and_escapes_html() -> None:
    drivers = [{"_id": "d1", "county": "meigu", "source": "individual", "registered_at": at("2026-03-02")}]
    period = parse_period("2026-03")
    orgs = [{"_id": "b", "kind": "branch", "county": "meigu", "created_at": at("2026-01-01")}]
    meetings = [{"_id": "m", "organisation_id": "b", "venue_name": "俄普修理厂", "kind": "party_lesson"}]
    quotes = [
        {
            "_id": "q2",
            "organisation_id": "b",
            "meeting_id": "m",
            "kind": "party_lesson",
            "text": "后来的话",
            "recorded_at": at("2026-03-09", 13),
        },
        {
            "_id": "q1",
            "organisation_id": "b",
            "meeting_id": "m",
            "kind": "party_lesson",
            "text": "<b>很新颖</b>",
            "recorded_at": at("2026-03-09", 12),
        },
        {
            "_id": "q3",
            "organisation_id": "b",
            "meeting_id": "m",
            "kind": "party_lesson",
            "text": "上个月的话",
            "recorded_at": at("2026-02-09", 12),
        },
    ]
    figures = compute(
        view(drivers=drivers, organisations=orgs, meetings=meetings, quotes=quotes), "meigu", period
    )
    briefing = compose(figures, period, "美姑县")
    # Nothing was held or handed out: those parts are left out, not filled with zeros.
    assert [p.title[:4] for p in briefing.parts] == ["全力摸清", "健全组织"]
    # The earliest words of the period open the briefing, credited without a name.
    assert [(q.text, q.speaker, q.context) for q in briefing.lead] == [
        ("<b>很新颖</b>", "党员货车司机", "在俄普修理厂参加党课后")
    ]
    markdown = render(briefing, "markdown")
    assert "共核查货车司机1名（个体货车司机1名）" in markdown
    assert "讲党课" not in markdown
    assert "上个月的话" not in markdown
    html = render(briefing, "html")
    assert "&lt;b&gt;很新颖&lt;/b&gt;" in html
    assert "<b>很新颖" not in html


def test_a_visited_drivers_words_close_the_warm_part_in_his_county_only() -> None:
    drivers = [
        {"_id": "d1", "county": "meigu", "source": "individual", "registered_at": at("2026-03-02")},
        {"_id": "d2", "county": "zhaojue", "source": "individual", "registered_at": at("2026-03-02")},
        {
            "_id": "d3",
            "county": "meigu",
            "source": "individual",
            "registered_at": at("2026-03-02"),
            "erased_at": at("2026-03-20"),
        },
    ]
    period = parse_period("2026-03")
    visits = [
        {"_id": "c1:1", "campaign_id": "c1", "driver_id": "d1", "member": False, "items": {"gloves": 2}},
        {"_id": "c1:2", "campaign_id": "c1", "driver_id": "d2", "member": True, "items": {"gloves": 1}},
        # An erased driver's words, were they to come back (a replay), are never quoted.
        {"_id": "c1:3", "campaign_id": "c1", "driver_id": "d3", "member": True, "items": {"gloves": 1}},
    ]
    for v in visits:
        v["visited_at"] = at("2026-03-10")
    quotes = [
        {
            "_id": f"{v['_id']}:words",
            "campaign_id": "c1",
            "campaign_kind": "health",
            "speaker_id": v["driver_id"],
            "member": v["member"],
            "text": f"{v['driver_id']}的话",
            "recorded_at": at("2026-03-10"),
        }
        for v in visits
    ]
    campaigns = [{"_id": "c1", "kind": "health", "labels": {"gloves": "手套"}}]
    figures = compute(
        view(drivers=drivers, visits=visits, campaigns=campaigns, quotes=quotes), "meigu", period
    )
    assert [q["text"] for q in figures.warm.quotes] == ["d1的话"], "the county's, not an erased driver's"
    assert figures.gather.quotes == []
    briefing = compose(figures, period, "美姑县")
    warm = briefing.parts[-1]
    assert warm.title.endswith("“暖起来”")
    # The lead is the first of the period's words; here the only ones, so the part keeps none.
    assert [(q.text, q.speaker, q.context, q.part) for q in briefing.lead] == [
        ("d1的话", "货车司机", "在“送健康”走访中", "warm")
    ]
    assert "d2的话" not in render(briefing, "markdown")


def _warm_text(**docs: list[dict[str, Any]]) -> str:
    period = parse_period("2026-03")
    drivers = [
        {"_id": f"d{n}", "county": "meigu", "source": "individual", "registered_at": at("2026-03-01")}
        for n in (1, 2)
    ]
    figures = compute(view(drivers=drivers, **docs), "meigu", period)
    return "".join(compose(figures, period, "美姑县").parts[-1].paragraphs)


def _visits(*campaign_ids: str) -> list[dict[str, Any]]:
    return [
        {
            "_id": f"{c}:{n}",
            "campaign_id": c,
            "driver_id": f"d{n}",
            "member": n == 1,
            "visited_at": at("2026-03-10"),
        }
        for c in campaign_ids
        for n in (1, 2)
    ]


def test_the_campaign_sentence_names_the_kinds_held_and_only_those() -> None:
    one = _warm_text(visits=_visits("c1"), campaigns=[{"_id": "c1", "kind": "health"}])
    assert "开展“送健康”活动1次，慰问党员司机1名，非党员司机1人" in one
    assert "送温暖" not in one
    assert "送服务" not in one
    three = [{"_id": c, "kind": k} for c, k in (("c1", "service"), ("c2", "warmth"), ("c3", "health"))]
    assert "开展“送温暖、送健康、送服务”活动3次" in _warm_text(
        visits=_visits("c1", "c2", "c3"), campaigns=three
    )
    # A campaign whose start the view has not seen yet: its visits count, under the general name.
    assert "开展关爱活动1次" in _warm_text(visits=_visits("c9"), campaigns=[])


def test_the_station_sentence_names_where_it_is_set_up_without_repeating_its_name() -> None:
    def stations(*names: str) -> list[dict[str, Any]]:
        return [
            {"_id": f"s{n}", "county": "meigu", "name": name, "beds": 4, "opened_at": at("2026-03-01")}
            for n, name in enumerate(names)
        ]

    text = _warm_text(stations=stations("峨曲古乡公路养护站暖心之家"))
    assert "依托峨曲古乡公路养护站现有硬件设施打造“暖心之家”1处，配置床铺4张" in text
    assert "暖心之家打造" not in text
    assert "依托拖觉镇服务区现有硬件设施打造“暖心之家”1处" in _warm_text(stations=stations("拖觉镇服务区"))
    assert _warm_text(stations=stations("暖心之家")).startswith(
        "打造“暖心之家”1处"
    ) or "。打造“暖心之家”1处" in (_warm_text(stations=stations("暖心之家")))


def test_the_briefing_as_a_pdf_holds_its_text_and_a_missing_font_says_which() -> None:
    import pypdfium2 as pdfium
    from briefing.adapters.pdf import FontMissing, Fonts, briefing_pdf

    drivers = [{"_id": "d1", "county": "meigu", "source": "individual", "registered_at": at("2026-03-02")}]
    period = parse_period("2026-03")
    briefing = compose(compute(view(drivers=drivers), "meigu", period), period, "美姑县")
    document = pdfium.PdfDocument(briefing_pdf(briefing))
    printed = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    printed = printed.replace("\r", "").replace("\n", "").replace("\u3000", "")
    assert "做好货车司机党建宣传工作简报" in printed
    assert "美姑县 · 2026年3月" in printed
    assert "共核查货车司机1名" in printed
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        briefing_pdf(briefing, Fonts(regular=Path("/nonexistent/NotoSerifCJK-Regular.ttc")))
