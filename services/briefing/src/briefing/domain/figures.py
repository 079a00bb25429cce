"""The figures of the work for one county and one period, computed from the projected documents.

Pure functions over plain documents (no I/O), so each rule is testable on its own. Flows (drivers
checked, lessons held, needs filed) count what happened inside the period; the organisation (who sits
on which committee) is its state at the period's end.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from roadbranch_shared.contracts.welfare import CAMPAIGN_KINDS

from briefing.domain.periods import Period

Document = Mapping[str, Any]


class Kind:
    INDUSTRY_COMMITTEE = "industry_committee"
    BRANCH = "branch"
    PARTY_GROUP = "party_group"
    WORK_GROUP = "work_group"
    WORK_SUBGROUP = "work_subgroup"


class Meeting:
    PARTY_LESSON = "party_lesson"
    THEME_PARTY_DAY = "theme_party_day"
    TRAINING_CLASS = "training_class"


SECRETARY = "secretary"
CO_LEADER = "co_leader"


@dataclass
class FindFigures:
    """摸清底数：把党员货车司机"找出来"."""

    drivers_checked: int = 0
    drivers_by_source: dict[str, int] = field(default_factory=dict)
    candidates_found: int = 0
    members_verified: int = 0
    verified_by_method: dict[str, int] = field(default_factory=dict)
    ledger_files: int = 0
    members_brought_home: int = 0


@dataclass
class ConnectFigures:
    """健全组织体系：把党员货车司机"联起来"."""

    industry_committees: int = 0
    industry_committee_members: int = 0
    industry_committee_secretary_id: str | None = None
    branches: int = 0
    branch_committee_members: int = 0
    branch_secretaries: int = 0
    party_groups: int = 0
    work_group_co_leaders: int = 0
    work_subgroups: int = 0
    pairings: int = 0
    members_paired: int = 0


@dataclass
class GatherFigures:
    """搭建学习平台：把党员货车司机"聚起来"."""

    meetings_held: int = 0
    held_by_kind: dict[str, int] = field(default_factory=dict)
    party_lessons: int = 0
    party_lessons_by_committee_secretary: int = 0
    lessons_at_repair_shops: int = 0
    theme_party_days: int = 0
    oath_renewals: int = 0
    training_classes: int = 0
    attendance_rate: float | None = None
    online_attendance: int = 0
    content_pushes: int = 0
    pushes_by_category: dict[str, int] = field(default_factory=dict)
    compliance_overdue: int = 0
    activity_rooms: int = 0
    instructors_stationed: int = 0
    made_up: int = 0
    content_audience: int = 0
    content_readers: int = 0
    read_rate: float | None = None
    trained_committee_members: int = 0
    committee_members: int = 0
    quotes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class WarmFigures:
    """提供精准服务：把党员货车司机"暖起来"."""

    needs_filed: int = 0
    needs_resolved: int = 0
    needs_by_category: dict[str, int] = field(default_factory=dict)
    median_hours_to_resolve: float | None = None
    resolved_within_target: float | None = None
    average_rating: float | None = None
    escalations: int = 0
    stations: int = 0
    station_names: list[str] = field(default_factory=list)
    station_beds: int = 0
    check_ins: int = 0
    campaigns: int = 0
    campaign_kinds: list[str] = field(default_factory=list)  # warmth, health, service: those held
    visits_to_members: int = 0
    visits_to_non_members: int = 0
    members_visited: int = 0
    non_members_visited: int = 0
    items_handed_out: int = 0
    items_by_kind: dict[str, int] = field(default_factory=dict)
    item_labels: dict[str, str] = field(default_factory=dict)
    problems_solved: int = 0
    problems_by_category: dict[str, int] = field(default_factory=dict)
    quotes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class NotifyFigures:
    sent_by_channel: dict[str, int] = field(default_factory=dict)
    failed_by_channel: dict[str, int] = field(default_factory=dict)


@dataclass
class Figures:
    county: str
    period: str
    find: FindFigures
    connect: ConnectFigures
    gather: GatherFigures
    warm: WarmFigures
    notify: NotifyFigures

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class View:
    """The projected documents the figures are computed from."""

    drivers: list[Document]
    members: list[Document]
    organisations: list[Document]
    pairings: list[Document]
    meetings: list[Document]
    contents: list[Document]
    needs: list[Document]
    deliveries: list[Document]  # counts: county, month, channel, outcome, n
    compliance: list[Document]
    stations: list[Document]
    stays: list[Document]
    campaigns: list[Document]
    visits: list[Document]
    quotes: list[Document]
    venues: list[Document]

    def of_county(self, county: str) -> View:
        """The documents of one county: drivers and organisations by their county (an organisation
        whose event names none belongs to no county), everything else through them."""
        drivers = {d["_id"] for d in self.drivers if d.get("county") == county}
        orgs = {o["_id"] for o in self.organisations if o.get("county") == county}
        visits = [v for v in self.visits if v.get("driver_id") in drivers]
        return View(
            drivers=[d for d in self.drivers if d["_id"] in drivers],
            members=[m for m in self.members if m.get("driver_id") in drivers],
            organisations=[o for o in self.organisations if o["_id"] in orgs],
            pairings=[p for p in self.pairings if p.get("organisation_id") in orgs],
            meetings=[m for m in self.meetings if m.get("organisation_id") in orgs],
            contents=[
                c
                for c in self.contents
                if c.get("organisation_id") in orgs
                or (c.get("organisation_id") is None and c.get("county") == county)
            ],
            needs=[n for n in self.needs if n.get("driver_id") in drivers],
            deliveries=[c for c in self.deliveries if c.get("county") == county],
            compliance=[c for c in self.compliance if c.get("organisation_id") in orgs],
            stations=[s for s in self.stations if s.get("county") == county],
            stays=[s for s in self.stays if s.get("driver_id") in drivers],
            # A campaign is the county's if it visited the county's drivers.
            campaigns=[c for c in self.campaigns if c["_id"] in {v.get("campaign_id") for v in visits}],
            visits=visits,
            # A meeting's words by its organisation, a care visit's by the driver visited.
            quotes=[
                q
                for q in self.quotes
                if q.get("organisation_id") in orgs
                or (q.get("campaign_id") and q.get("speaker_id") in drivers)
            ],
            venues=[v for v in self.venues if v.get("county") == county],
        )


def compute(view: View, county: str, period: Period) -> Figures:
    mine = view.of_county(county)
    connect = _connect(mine, period)
    return Figures(
        county=county,
        period=period.label,
        find=_find(mine, period),
        connect=connect,
        gather=_gather(mine, period, connect.industry_committee_secretary_id),
        warm=_warm(mine, period),
        notify=_notify(mine, period),
    )


def _find(view: View, period: Period) -> FindFigures:
    checked = [d for d in view.drivers if period.contains(d.get("registered_at"))]
    members = view.members
    verified = [m for m in members if m.get("status") == "verified" and period.contains(m.get("verified_at"))]
    erased = {d["_id"] for d in view.drivers if d.get("erased_at")}
    return FindFigures(
        drivers_checked=len(checked),
        drivers_by_source=_count(d.get("source") for d in checked),
        candidates_found=sum(period.contains(m.get("found_at")) for m in members),
        members_verified=len(verified),
        verified_by_method=_count(m.get("method") for m in verified),
        # One person, one file: every verified member has his file, kept until his data is erased.
        ledger_files=sum(
            m.get("status") == "verified"
            and period.reached_by(m.get("verified_at"))
            and m.get("driver_id") not in erased
            for m in members
        ),
        members_brought_home=sum(period.contains(_day(m.get("transferred_in_on"))) for m in members),
    )


def _seats(org: Document, period: Period) -> list[Document]:
    """Seats held at the end of the period (assigned by then, term not over before it)."""
    return [
        s
        for s in (org.get("seats") or {}).values()
        if period.reached_by(s.get("assigned_at"))
        and (s.get("term_end") is None or _day(s["term_end"]) >= period.start)  # type: ignore[operator]
    ]


def _connect(view: View, period: Period) -> ConnectFigures:
    orgs = [o for o in view.organisations if period.reached_by(o.get("created_at"))]
    by_kind: dict[str, list[Document]] = {}
    for o in orgs:
        by_kind.setdefault(o.get("kind", ""), []).append(o)
    committees = by_kind.get(Kind.INDUSTRY_COMMITTEE, [])
    committee_seats = [s for o in committees for s in _seats(o, period)]
    branch_seats = [s for o in by_kind.get(Kind.BRANCH, []) for s in _seats(o, period)]
    work_group_seats = [s for o in by_kind.get(Kind.WORK_GROUP, []) for s in _seats(o, period)]
    pairings = [p for p in view.pairings if period.reached_by(p.get("assigned_at"))]
    secretary = next((s["person_id"] for s in committee_seats if s.get("role") == SECRETARY), None)
    return ConnectFigures(
        industry_committees=len(committees),
        industry_committee_members=len({s["person_id"] for s in committee_seats}),
        industry_committee_secretary_id=secretary,
        branches=len(by_kind.get(Kind.BRANCH, [])),
        branch_committee_members=len({s["person_id"] for s in branch_seats}),
        branch_secretaries=sum(s.get("role") == SECRETARY for s in branch_seats),
        party_groups=len(by_kind.get(Kind.PARTY_GROUP, [])),
        work_group_co_leaders=sum(s.get("role") == CO_LEADER for s in work_group_seats),
        work_subgroups=len(by_kind.get(Kind.WORK_SUBGROUP, [])),
        pairings=len(pairings),
        members_paired=len({m for p in pairings for m in p.get("member_ids", [])}),
    )


def _committee_people(view: View, period: Period) -> set[str]:
    """Everyone on the industry committee or a branch committee at the end of the period."""
    kinds = (Kind.INDUSTRY_COMMITTEE, Kind.BRANCH)
    return {
        s["person_id"]
        for o in view.organisations
        if o.get("kind") in kinds and period.reached_by(o.get("created_at"))
        for s in _seats(o, period)
    }


def _gather(view: View, period: Period, committee_secretary: str | None) -> GatherFigures:
    held = [m for m in view.meetings if m.get("status") == "held" and period.contains(m.get("held_at"))]
    lessons = [m for m in held if m.get("kind") == Meeting.PARTY_LESSON]
    invited = sum(m.get("invited", 0) for m in held)
    present = sum(m.get("present_on_site", 0) + m.get("present_online", 0) for m in held)
    contents = [c for c in view.contents if period.contains(c.get("published_at"))]
    audience = sum(c.get("audience") or 0 for c in contents)
    readers = sum(len(c.get("readers") or {}) for c in contents)
    trained = {
        person
        for m in view.meetings
        if m.get("kind") == Meeting.TRAINING_CLASS
        for person, at in (m.get("passed") or {}).items()
        if period.contains(at)
    }
    committee = _committee_people(view, period)
    meetings = {m["_id"]: m for m in view.meetings}
    return GatherFigures(
        meetings_held=len(held),
        held_by_kind=_count(m.get("kind") for m in held),
        party_lessons=len(lessons),
        party_lessons_by_committee_secretary=sum(
            committee_secretary is not None
            and committee_secretary in (m.get("lecturer_id"), m.get("host_id"))
            for m in lessons
        ),
        lessons_at_repair_shops=sum(m.get("venue_kind") == "repair_shop" for m in lessons),
        theme_party_days=sum(m.get("kind") == Meeting.THEME_PARTY_DAY for m in held),
        oath_renewals=sum(bool(m.get("oath_renewal")) for m in held),
        training_classes=sum(m.get("kind") == Meeting.TRAINING_CLASS for m in held),
        attendance_rate=round(present / invited, 4) if invited else None,
        online_attendance=sum(m.get("present_online", 0) for m in held),
        content_pushes=len(contents),
        pushes_by_category=_count(c.get("category") for c in contents),
        compliance_overdue=sum(period.contains(_day(c.get("period_end"))) for c in view.compliance),
        activity_rooms=sum(v.get("venue_kind") == "activity_room" for v in view.venues),
        instructors_stationed=len({i for v in view.venues for i in v.get("instructor_ids") or []}),
        made_up=sum(period.contains(at) for m in view.meetings for at in (m.get("made_up") or {}).values()),
        content_audience=sum(c.get("audience") or 0 for c in contents),
        content_readers=readers,
        read_rate=round(readers / audience, 4) if audience else None,
        trained_committee_members=len(committee & trained),
        committee_members=len(committee),
        quotes=[
            {
                "text": q["text"],
                "kind": q.get("kind"),
                "venue_name": meetings.get(q.get("meeting_id"), {}).get("venue_name"),
                "recorded_at": q.get("recorded_at"),
            }
            for q in sorted(
                (q for q in _quotes(view, period) if q.get("meeting_id")),
                key=lambda q: q["recorded_at"],
            )
        ],
    )


def _quotes(view: View, period: Period) -> list[Document]:
    """Drivers' words recorded in the period; never an erased speaker's (the view deletes them too)."""
    erased = {d["_id"] for d in view.drivers if d.get("erased_at")}
    return [
        q
        for q in view.quotes
        if period.contains(q.get("recorded_at")) and q.get("text") and q.get("speaker_id") not in erased
    ]


def _warm(view: View, period: Period) -> WarmFigures:
    filed = [n for n in view.needs if period.contains(n.get("filed_at"))]
    resolved = [
        n for n in view.needs if n.get("status") == "resolved" and period.contains(n.get("resolved_at"))
    ]
    hours = [(n["resolved_at"] - n["filed_at"]).total_seconds() / 3600 for n in resolved if n.get("filed_at")]
    ratings = [n["rating"] for n in resolved if n.get("rating") is not None]
    return WarmFigures(
        needs_filed=len(filed),
        needs_resolved=len(resolved),
        needs_by_category=_count(n.get("category") for n in filed),
        median_hours_to_resolve=round(statistics.median(hours), 1) if hours else None,
        resolved_within_target=(
            round(sum(bool(n.get("within_target")) for n in resolved) / len(resolved), 4)
            if resolved
            else None
        ),
        average_rating=round(statistics.fmean(ratings), 2) if ratings else None,
        escalations=sum(period.contains(n.get("escalated_at")) for n in view.needs),
        **_stations(view, period),
        **_campaigns(view, period),
        quotes=[
            {
                "text": q["text"],
                "campaign_kind": q.get("campaign_kind"),
                "member": bool(q.get("member")),
                "recorded_at": q.get("recorded_at"),
            }
            for q in sorted(
                (q for q in _quotes(view, period) if q.get("campaign_id")), key=lambda q: q["recorded_at"]
            )
        ],
    )


def _stations(view: View, period: Period) -> dict[str, Any]:
    stations = [s for s in view.stations if period.reached_by(s.get("opened_at"))]
    return {
        "stations": len(stations),
        "station_names": sorted(s.get("name", "") for s in stations),
        "station_beds": sum(s.get("beds", 0) for s in stations),
        "check_ins": sum(period.contains(s.get("checked_in_at")) for s in view.stays),
    }


def _campaigns(view: View, period: Period) -> dict[str, Any]:
    """Visits in the period, and the campaigns they belong to. Drivers visited are counted once each,
    as the briefing says it (慰问党员司机9名), by what the roster said at the visit."""
    visits = [v for v in view.visits if period.contains(v.get("visited_at"))]
    items: Counter[str] = Counter()
    for v in visits:
        items.update(v.get("items") or {})
    labels = {k: v for c in view.campaigns for k, v in (c.get("labels") or {}).items()}
    solved = {n for v in visits for n in v.get("solved_need_ids") or []}
    categories = {n["_id"]: n.get("category") for n in view.needs}
    held = {v["campaign_id"] for v in visits}
    kinds = {c.get("kind") for c in view.campaigns if c["_id"] in held}
    return {
        "campaigns": len(held),
        "campaign_kinds": [k for k in CAMPAIGN_KINDS if k in kinds],
        "visits_to_members": sum(bool(v.get("member")) for v in visits),
        "visits_to_non_members": sum(not v.get("member") for v in visits),
        "members_visited": len({v["driver_id"] for v in visits if v.get("member")}),
        "non_members_visited": len({v["driver_id"] for v in visits if not v.get("member")}),
        "items_handed_out": sum(items.values()),
        "items_by_kind": dict(sorted(items.items())),
        "item_labels": {k: labels[k] for k in sorted(items) if k in labels},
        "problems_solved": len(solved),
        "problems_by_category": _count(categories.get(n, "other") for n in solved),
    }


def _notify(view: View, period: Period) -> NotifyFigures:
    sent: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for c in view.deliveries:
        if period.contains(_day(c["month"] + "-01")):  # a month counts if it starts in the period
            (sent if c["outcome"] == "sent" else failed)[c["channel"]] += c["n"]
    return NotifyFigures(
        sent_by_channel=dict(sorted(sent.items())), failed_by_channel=dict(sorted(failed.items()))
    )


def _count(values: Iterable[Any]) -> dict[str, int]:
    return dict(sorted(Counter(str(v) for v in values if v is not None).items()))


def _day(value: Any) -> date | datetime | None:
    if value is None or isinstance(value, date | datetime):
        return value
    return date.fromisoformat(str(value))
