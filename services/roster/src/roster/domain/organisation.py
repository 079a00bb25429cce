"""The organisation tree (健全组织体系): kinds and their parents, committee seats and the end of
their terms, rule-of-thumb warnings, and when an N+1 pairing (结对帮带) is overdue for a contact. No I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from roster.domain.errors import RosterError


class Kind:
    INDUSTRY_COMMITTEE = "industry_committee"  # 行业党委
    BRANCH = "branch"  # 流动党员党支部
    PARTY_GROUP = "party_group"  # 党小组
    WORK_GROUP = "work_group"  # 试点工作专班
    WORK_SUBGROUP = "work_subgroup"  # 专班下设的组，如综合协调组
    ALL = (INDUSTRY_COMMITTEE, BRANCH, PARTY_GROUP, WORK_GROUP, WORK_SUBGROUP)


LABELS = {
    Kind.INDUSTRY_COMMITTEE: "行业党委",
    Kind.BRANCH: "党支部",
    Kind.PARTY_GROUP: "党小组",
    Kind.WORK_GROUP: "试点工作专班",
    Kind.WORK_SUBGROUP: "专班工作组",
}
# The kind each kind's parent must be; None: a root of the tree.
PARENT_KIND: dict[str, str | None] = {
    Kind.INDUSTRY_COMMITTEE: None,
    Kind.BRANCH: Kind.INDUSTRY_COMMITTEE,
    Kind.PARTY_GROUP: Kind.BRANCH,
    Kind.WORK_GROUP: None,
    Kind.WORK_SUBGROUP: Kind.WORK_GROUP,
}


class SeatRole:
    SECRETARY = "secretary"  # 书记（党小组为组长）
    DEPUTY_SECRETARY = "deputy_secretary"  # 副书记
    MEMBER = "member"  # 委员 / 成员
    CO_LEADER = "co_leader"  # 专班双组长
    ALL = (SECRETARY, DEPUTY_SECRETARY, MEMBER, CO_LEADER)


_PARTY_ROLES = (SeatRole.SECRETARY, SeatRole.DEPUTY_SECRETARY, SeatRole.MEMBER)
ROLES_FOR_KIND: dict[str, tuple[str, ...]] = {
    Kind.INDUSTRY_COMMITTEE: _PARTY_ROLES,
    Kind.BRANCH: _PARTY_ROLES,
    Kind.PARTY_GROUP: _PARTY_ROLES,
    Kind.WORK_GROUP: (SeatRole.CO_LEADER, SeatRole.MEMBER),
    Kind.WORK_SUBGROUP: (SeatRole.MEMBER,),
}
# The pilot's work group is led jointly by two leaders (双组长).
MAX_CO_LEADERS = 2
MIN_FULL_MEMBERS_IN_BRANCH = 3
MIN_COMMITTEE_SEATS = 7


class Channel:
    PHONE = "phone"
    WECHAT = "wechat"
    VISIT = "visit"
    ALL = (PHONE, WECHAT, VISIT)


class OrgError(RosterError):
    """Input or a command the tree does not allow (invalid unless said otherwise)."""

    def __init__(self, field: str, reason: str, message: str, status: str = RosterError.INVALID) -> None:
        super().__init__(field, reason, message, status)


def check_parent(kind: str, parent_kind: str | None) -> None:
    """Raise OrgError unless an organisation of `kind` may hang under a parent of `parent_kind`."""
    if kind not in Kind.ALL:
        raise OrgError("kind", "unknown_kind", "组织类型须为：" + "、".join(Kind.ALL))
    wanted = PARENT_KIND[kind]
    if wanted is None and parent_kind is not None:
        raise OrgError("parent_id", "no_parent_allowed", f"{LABELS[kind]}不设上级组织")
    if wanted is not None and parent_kind != wanted:
        raise OrgError("parent_id", "wrong_parent_kind", f"{LABELS[kind]}的上级须为{LABELS[wanted]}")


def _overlaps(start: date, end: date | None, other: Mapping[str, Any]) -> bool:
    o_start = date.fromisoformat(other["term_start"])
    o_end = date.fromisoformat(other["term_end"]) if other.get("term_end") else None
    return (end is None or o_start <= end) and (o_end is None or start <= o_end)


def current_seats(seats: Iterable[Mapping[str, Any]], today: date) -> list[Mapping[str, Any]]:
    """The seats whose term includes `today`."""
    return [s for s in seats if _overlaps(today, today, s)]


def check_seat(
    kind: str, seats: Iterable[Mapping[str, Any]], role: str, person_id: str, start: date, end: date | None
) -> None:
    """Raise OrgError unless the seat fits the organisation: role valid for its kind, sane term,
    one secretary and at most two co-leaders at a time, one seat per person at a time."""
    if role not in ROLES_FOR_KIND[kind]:
        raise OrgError(
            "role", "role_not_for_kind", f"{LABELS[kind]}的职务须为：" + "、".join(ROLES_FOR_KIND[kind])
        )
    if end is not None and end < start:
        raise OrgError("term_end", "before_start", "任期结束日期不能早于开始日期")
    current = [s for s in seats if _overlaps(start, end, s)]
    if any(s["person_id"] == person_id for s in current):
        raise OrgError("person_id", "already_seated", "此人在该任期内已有职务", "conflict")
    if role == SeatRole.SECRETARY and any(s["role"] == SeatRole.SECRETARY for s in current):
        raise OrgError("role", "secretary_taken", "该组织在此任期内已有书记", "conflict")
    if role == SeatRole.CO_LEADER and sum(s["role"] == SeatRole.CO_LEADER for s in current) >= MAX_CO_LEADERS:
        raise OrgError("role", "co_leaders_full", "专班最多设两名组长", "conflict")


def check_term_end(seat: Mapping[str, Any], term_end: date, today: date) -> None:
    """Raise OrgError unless the seat may end on `term_end` (免职、任期届满): it has not ended
    already (ended here before, or its term ran out before today), and the new end is neither
    before its start nor after the end its term already had (a longer term is a new seat)."""
    planned = date.fromisoformat(seat["term_end"]) if seat.get("term_end") else None
    if seat.get("ended") or (planned is not None and planned < today):
        raise OrgError("seat_id", "term_ended", "该职务的任期已经结束", OrgError.CONFLICT)
    if term_end < date.fromisoformat(seat["term_start"]):
        raise OrgError("term_end", "before_start", "任期结束日期不能早于开始日期")
    if planned is not None and term_end > planned:
        raise OrgError(
            "term_end", "after_planned_end", f"结束日期不能晚于原定任期结束日期（{planned.isoformat()}）"
        )


@dataclass(frozen=True)
class OrgWarning:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def warnings_for(kind: str, seat_count: int, full_members: int) -> list[OrgWarning]:
    """Rules of thumb staff should see (not errors: the tree may be built in any order)."""
    found = []
    if kind == Kind.BRANCH and full_members < MIN_FULL_MEMBERS_IN_BRANCH:
        found.append(
            OrgWarning(
                "branch_too_small", f"正式党员不足{MIN_FULL_MEMBERS_IN_BRANCH}人（现有{full_members}人）"
            )
        )
    if kind == Kind.INDUSTRY_COMMITTEE and seat_count < MIN_COMMITTEE_SEATS:
        found.append(
            OrgWarning("committee_incomplete", f"党委委员不足{MIN_COMMITTEE_SEATS}人（现有{seat_count}人）")
        )
    return found


@dataclass(frozen=True)
class Overdue:
    member_id: str
    last_contact_at: datetime | None


def overdue_members(pairing: Mapping[str, Any], as_of: datetime, after_days: int) -> list[Overdue]:
    """Members of the pairing with no contact for `after_days` (counted from the pairing when there
    was none) and not already raised since their last contact."""
    limit = as_of - timedelta(days=after_days)
    last_contacts = pairing.get("last_contacts") or {}
    raised = pairing.get("overdue_raised") or {}
    found = []
    for member_id in pairing["member_ids"]:
        last = last_contacts.get(member_id)
        if member_id not in raised and (last or pairing["assigned_at"]) < limit:
            found.append(Overdue(member_id, last))
    return found
