"""The 三会一课 policy and its periods: which meetings an organisation must hold how often, and
whether a period has them, counted by the meetings' own dates. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from roadbranch_shared.domain import DomainError

from activities.domain.meetings import Kind

SECRETARY_LECTURE = "secretary_lecture"  # 书记讲党课
PERIODS = ("month", "quarter", "year")

# The defaults of the issue: member meeting quarterly, committee and group meetings monthly, party
# lesson quarterly with the secretary lecturing at least once a year, theme party day monthly.
DEFAULT_POLICY: dict[str, dict[str, Any]] = {
    Kind.BRANCH_MEMBER_MEETING: {"period": "quarter", "count": 1},
    Kind.BRANCH_COMMITTEE_MEETING: {"period": "month", "count": 1},
    Kind.PARTY_GROUP_MEETING: {"period": "month", "count": 1},
    Kind.PARTY_LESSON: {"period": "quarter", "count": 1},
    SECRETARY_LECTURE: {"period": "year", "count": 1},
    Kind.THEME_PARTY_DAY: {"period": "month", "count": 1},
}
REQUIREMENTS = (*Kind.ALL, SECRETARY_LECTURE)


def check_policy(requirements: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """A policy as stored: requirement -> {period, count}; count 0 switches a requirement off."""
    policy: dict[str, dict[str, Any]] = {}
    for name, rule in requirements.items():
        field = f"requirements.{name}"
        if name not in REQUIREMENTS:
            raise DomainError(field, "unknown_requirement", f"要求应为：{'、'.join(REQUIREMENTS)}", "invalid")
        if rule.get("period") not in PERIODS:
            raise DomainError(
                f"{field}.period", "unknown_period", "周期应为 month、quarter 或 year", "invalid"
            )
        unknown = sorted(set(rule) - {"period", "count"})
        if unknown:
            raise DomainError(f"{field}.{unknown[0]}", "unknown_field", "只接受 period 和 count", "invalid")
        count = rule.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise DomainError(f"{field}.count", "not_a_count", "次数应为不小于 0 的整数", "invalid")
        policy[name] = {"period": rule["period"], "count": count}
    return policy


@dataclass(frozen=True)
class Period:
    label: str  # 2026-11, 2026-Q4, 2026
    start: date
    end: date  # the last day of the period


def period_of(day: date, kind: str) -> Period:
    if kind == "month":
        start = day.replace(day=1)
        label = f"{day.year}-{day.month:02d}"
    elif kind == "quarter":
        first_month = 3 * ((day.month - 1) // 3) + 1
        start = date(day.year, first_month, 1)
        label = f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    elif kind == "year":
        start = date(day.year, 1, 1)
        label = str(day.year)
    else:
        raise ValueError(f"unknown period {kind}")
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    month_index = start.month - 1 + months
    next_start = date(start.year + month_index // 12, month_index % 12 + 1, 1)
    return Period(label, start, next_start - timedelta(days=1))


def counts_towards(requirement: str, meeting: Mapping[str, Any]) -> bool:
    if requirement == SECRETARY_LECTURE:
        return meeting["kind"] == Kind.PARTY_LESSON and bool(meeting.get("secretary_lecture"))
    return bool(meeting["kind"] == requirement)


@dataclass(frozen=True)
class Standing:
    """One requirement in one period: held so far against required."""

    requirement: str
    period: Period
    held: int
    required: int

    @property
    def met(self) -> bool:
        return self.held >= self.required

    def as_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "period": self.period.label,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "held": self.held,
            "required": self.required,
            "met": self.met,
        }


def standings(
    policy: Mapping[str, Mapping[str, Any]], held: Iterable[Mapping[str, Any]], day: date
) -> list[Standing]:
    """Each requirement's standing in the period containing `day`; `held` are the organisation's held
    meetings with `kind`, `held_on` (a date) and `secretary_lecture`."""
    meetings = list(held)
    result = []
    for requirement, rule in policy.items():
        if rule["count"] <= 0:
            continue
        period = period_of(day, rule["period"])
        count = sum(
            period.start <= m["held_on"] <= period.end and counts_towards(requirement, m) for m in meetings
        )
        result.append(Standing(requirement, period, count, rule["count"]))
    return result


def closing_unmet(standing: Standing, today: date, warn_days: int) -> bool:
    """A period about to close (its last day within `warn_days`) that still lacks its meetings."""
    return not standing.met and (standing.period.end - today).days <= warn_days
