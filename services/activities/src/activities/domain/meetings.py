"""Meetings (三会一课, 主题党日, 培训班, 组织生活会) and their attendance: kinds, venues, who is
invited, the life cycle scheduled → held | cancelled, attendance figures, quorum and check-in codes.
No I/O."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from roadbranch_shared.domain import DomainError


class Kind:
    BRANCH_MEMBER_MEETING = "branch_member_meeting"  # 支部党员大会
    BRANCH_COMMITTEE_MEETING = "branch_committee_meeting"  # 支部委员会
    PARTY_GROUP_MEETING = "party_group_meeting"  # 党小组会
    PARTY_LESSON = "party_lesson"  # 党课
    THEME_PARTY_DAY = "theme_party_day"  # 主题党日
    TRAINING_CLASS = "training_class"  # 党务工作者培训班
    ORGANISATIONAL_LIFE = "organisational_life"  # 组织生活会
    ALL = (
        BRANCH_MEMBER_MEETING,
        BRANCH_COMMITTEE_MEETING,
        PARTY_GROUP_MEETING,
        PARTY_LESSON,
        THEME_PARTY_DAY,
        TRAINING_CLASS,
        ORGANISATIONAL_LIFE,
    )


LABELS = {
    Kind.BRANCH_MEMBER_MEETING: "支部党员大会",
    Kind.BRANCH_COMMITTEE_MEETING: "支部委员会",
    Kind.PARTY_GROUP_MEETING: "党小组会",
    Kind.PARTY_LESSON: "党课",
    Kind.THEME_PARTY_DAY: "主题党日",
    Kind.TRAINING_CLASS: "党务工作者培训班",
    Kind.ORGANISATIONAL_LIFE: "组织生活会",
}
VENUE_KINDS = ("activity_room", "repair_shop", "rest_station", "online", "other")
MODES = ("offline", "online", "hybrid")


class Audience:
    """Who a meeting invites, resolved from the organisation view when it is scheduled."""

    MEMBERS = "members"  # the member drivers of the organisation (and of the branches under it)
    COMMITTEE = "committee"  # the organisation's committee seats
    COMMITTEES = "committees"  # the committee seats of the organisation and every one under it
    ALL = (MEMBERS, COMMITTEE, COMMITTEES)


DEFAULT_AUDIENCE = {
    Kind.BRANCH_COMMITTEE_MEETING: Audience.COMMITTEE,
    Kind.TRAINING_CLASS: Audience.COMMITTEES,
}


def default_audience(kind: str) -> str:
    return DEFAULT_AUDIENCE.get(kind, Audience.MEMBERS)


class Status:
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class Attendance:
    ON_SITE = "on_site"  # 现场参加
    ONLINE = "online"  # 线上参加
    LEAVE = "leave"  # 请假
    ABSENT = "absent"  # 缺席
    ALL = (ON_SITE, ONLINE, LEAVE, ABSENT)
    PRESENT = (ON_SITE, ONLINE)
    MAY_MAKE_UP = (LEAVE, ABSENT)


class Way:
    CHECK_IN = "check_in"
    RECORDED = "recorded"
    PROXY = "proxy"
    CLOSING = "closing"
    ANSWER = "driver_answer"  # the invitee's own answer to the invitation: leave, or joining online


# What an invitee may answer to an invitation himself (staff record the rest).
ANSWERS = (Attendance.LEAVE, Attendance.ONLINE)


def check_schedule(
    kind: str, venue_kind: str, mode: str, starts_at: datetime, ends_at: datetime | None
) -> None:
    if kind not in Kind.ALL:
        raise DomainError("kind", "unknown_kind", f"会议类型应为：{'、'.join(Kind.ALL)}", DomainError.INVALID)
    if venue_kind not in VENUE_KINDS:
        raise DomainError(
            "venue_kind", "unknown_venue", f"地点类型应为：{'、'.join(VENUE_KINDS)}", DomainError.INVALID
        )
    if mode not in MODES:
        raise DomainError("mode", "unknown_mode", f"方式应为：{'、'.join(MODES)}", DomainError.INVALID)
    if (venue_kind == "online") != (mode == "online"):
        raise DomainError(
            "mode", "venue_mode_mismatch", "线上会议的地点须为 online，反之亦然", DomainError.INVALID
        )
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError("ends_at", "before_start", "结束时间须晚于开始时间", DomainError.INVALID)


def check_person_id(person_id: str, field: str) -> None:
    """Person ids are keys of the attendance map: a dot or a leading $ would split or break the path."""
    if not person_id or "." in person_id or person_id.startswith("$"):
        raise DomainError(field, "bad_id", "人员编号不能为空，且不能含“.”或以“$”开头", DomainError.INVALID)


def check_open(meeting: Mapping[str, Any], action: str) -> None:
    """Only a scheduled meeting can be moved, cancelled, held or have attendance recorded."""
    if meeting["status"] != Status.SCHEDULED:
        state = "已召开" if meeting["status"] == Status.HELD else "已取消"
        raise DomainError("status", f"meeting_{meeting['status']}", f"会议{state}，不能{action}")


def check_record(status: str, *, way: str, reason: str | None, field: str) -> None:
    """A leave needs a reason, and so does anything recorded on the person's behalf (代为登记)."""
    if status not in Attendance.ALL:
        raise DomainError(
            f"{field}.status", "unknown_status", f"考勤应为：{'、'.join(Attendance.ALL)}", DomainError.INVALID
        )
    if not (reason or "").strip():
        if way == Way.PROXY:
            raise DomainError(f"{field}.reason", "required", "代为登记须写明原因", DomainError.INVALID)
        if status == Attendance.LEAVE:
            raise DomainError(f"{field}.reason", "required", "请假须写明原因", DomainError.INVALID)


@dataclass(frozen=True)
class Figures:
    """A meeting's attendance: every invitee counts once, in their recorded state (absent if none)."""

    invited: int
    present_on_site: int
    present_online: int
    on_leave: int
    absent: int
    made_up: int

    @property
    def present(self) -> int:
        return self.present_on_site + self.present_online

    def as_dict(self) -> dict[str, Any]:
        rate = self.present / self.invited if self.invited else None
        with_makeup = (self.present + self.made_up) / self.invited if self.invited else None
        return {
            "invited": self.invited,
            "present_on_site": self.present_on_site,
            "present_online": self.present_online,
            "present": self.present,
            "on_leave": self.on_leave,
            "absent": self.absent,
            "made_up": self.made_up,
            "attendance_rate": rate,
            "attendance_rate_with_makeup": with_makeup,
        }


def figures(invitees: Iterable[str], attendance: Mapping[str, Mapping[str, Any]]) -> Figures:
    counts = dict.fromkeys(Attendance.ALL, 0)
    made_up = 0
    invited = list(invitees)
    for person in invited:
        record = attendance.get(person) or {}
        counts[record.get("status", Attendance.ABSENT)] += 1
        made_up += bool(record.get("made_up_at"))
    return Figures(
        invited=len(invited),
        present_on_site=counts[Attendance.ON_SITE],
        present_online=counts[Attendance.ONLINE],
        on_leave=counts[Attendance.LEAVE],
        absent=counts[Attendance.ABSENT],
        made_up=made_up,
    )


def quorum_met(kind: str, voters: Iterable[str], attendance: Mapping[str, Mapping[str, Any]]) -> bool | None:
    """A branch member meeting needs more than half of the members with a vote present (on site or
    online); other kinds have no quorum (None)."""
    if kind != Kind.BRANCH_MEMBER_MEETING:
        return None
    voting = list(voters)
    present = sum((attendance.get(p) or {}).get("status") in Attendance.PRESENT for p in voting)
    return present * 2 > len(voting)


# A check-in code is short enough to read off a screen at the venue; the few wrong tries allowed per
# person keep a million codes out of reach of guessing.
CODE_DIGITS = 6
MAX_WRONG_CODES = 5


def new_check_in_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(meeting_id: str, code: str) -> str:
    """Stored instead of the code: bound to its meeting, so one digest never opens another meeting."""
    return hashlib.sha256(f"{meeting_id}:{code.strip()}".encode()).hexdigest()


def check_code(meeting: Mapping[str, Any], person_id: str, code: str, now: datetime) -> None:
    stored = meeting.get("check_in") or {}
    if not stored:
        raise DomainError("code", "no_code", "本次会议尚未生成签到码")
    if (meeting.get("wrong_codes") or {}).get(person_id, 0) >= MAX_WRONG_CODES:
        raise DomainError("code", "too_many_tries", "签到码错误次数过多，请联系现场指导员登记")
    if not hmac.compare_digest(stored["digest"], code_digest(meeting["_id"], code)):
        raise DomainError("code", "wrong_code", "签到码不正确", DomainError.INVALID)
    if now >= stored["expires_at"]:
        raise DomainError("code", "expired", "签到码已过期，请向现场索取新码", DomainError.INVALID)


def meeting_end(meeting: Mapping[str, Any]) -> datetime:
    """When a meeting is over: its end, or (none given) its start, so that nothing is asked of a
    meeting of unknown length once it has begun."""
    end: datetime = meeting.get("ends_at") or meeting["starts_at"]
    return end


def check_answer(
    meeting: Mapping[str, Any], person_id: str, status: str, reason: str | None, now: datetime
) -> None:
    """An invitee's own answer (请假 with a reason, or 线上参加 for an online or hybrid meeting), while
    the meeting is scheduled and not over. A check-in or a record by staff stands: he asks them."""
    if status not in ANSWERS:
        raise DomainError("status", "unknown_answer", f"只能回复：{'、'.join(ANSWERS)}", DomainError.INVALID)
    if person_id not in meeting["invitees"]:
        raise DomainError("meeting_id", "not_invited", "您不在本次会议的参会范围内", DomainError.FORBIDDEN)
    check_open(meeting, "请假或改为线上参加")
    if now >= meeting_end(meeting):
        raise DomainError("meeting_id", "meeting_over", "会议已结束，不能再请假或改为线上参加")
    if status == Attendance.LEAVE and not (reason or "").strip():
        raise DomainError("reason", "required", "请假须写明原因", DomainError.INVALID)
    if status == Attendance.ONLINE and meeting["mode"] not in ("online", "hybrid"):
        raise DomainError("status", "not_online", "本次会议不设线上参加", DomainError.INVALID)
    record = (meeting.get("attendance") or {}).get(person_id) or {}
    staff_or_check_in = record and record.get("way") != Way.ANSWER
    if staff_or_check_in and (record["status"], record.get("reason")) != (status, reason):
        raise DomainError(
            "meeting_id", "already_recorded", "您的考勤已由现场签到或工作人员登记，如需更改请联系工作人员"
        )


def makeup_deadline(held_at: datetime, window_days: int) -> datetime:
    return held_at + timedelta(days=window_days)
