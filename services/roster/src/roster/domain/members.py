"""Member records (党员信息) from the organisation department, and verification cases (查身份、核信息).

A case opens when a driver's ID number matches a member record, or when a driver declares himself
(亮身份). Staff record attempts (method, outcome, notes); the case ends only by a person's
decision: verified (which needs a confirming attempt) or rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from roadbranch_shared.pii import validate_id_number

from roster.domain.drivers import RowProblem, RowReason, clean_text
from roster.domain.errors import RosterError


class Method:
    FIELD_VISIT = "field_visit"  # 实地走访
    PHONE_CALL = "phone_call"  # 电话访问
    GROUP_MEETING = "group_meeting"  # 集中座谈
    DATA_COMPARISON = "data_comparison"  # 信息比对
    ALL = (FIELD_VISIT, PHONE_CALL, GROUP_MEETING, DATA_COMPARISON)


class Outcome:
    CONFIRMED = "confirmed"
    NOT_A_MEMBER = "not_a_member"
    UNREACHABLE = "unreachable"
    ALL = (CONFIRMED, NOT_A_MEMBER, UNREACHABLE)


class CaseStatus:
    CANDIDATE = "candidate"
    VERIFIED = "verified"
    REJECTED = "rejected"
    LABELS: ClassVar[dict[str, str]] = {
        CANDIDATE: "待核实",
        VERIFIED: "已认定党员",
        REJECTED: "已排除",
    }


RECORD_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "id_number"),
    "branch_of_record": ("所在党组织", "所在支部", "党组织", "branch_of_record"),
    "joined_on": ("入党时间", "入党日期", "joined_on"),
    "party_status": ("党员状态", "党籍状态", "status", "party_status"),
}
PARTY_STATUS = {
    "正式党员": "full",
    "预备党员": "probationary",
    "full": "full",
    "probationary": "probationary",
}


@dataclass(frozen=True)
class MemberRecord:
    row: int
    id_number: str
    branch_of_record: str
    joined_on: str
    party_status: str


def check_record(row: int, values: Mapping[str, str]) -> MemberRecord | list[RowProblem]:
    cleaned = {field: clean_text(values.get(field, "")) for field in RECORD_COLUMNS}
    problems = [RowProblem(row, f, RowReason.REQUIRED) for f in ("name", "id_number") if not cleaned[f]]
    id_number = None
    if cleaned["id_number"]:
        check = validate_id_number(cleaned["id_number"])
        problems += [RowProblem(row, "id_number", reason) for reason in check.errors]
        id_number = check.normalized
    status = PARTY_STATUS.get(cleaned["party_status"], "") if cleaned["party_status"] else ""
    if cleaned["party_status"] and not status:
        problems.append(RowProblem(row, "party_status", "unknown_status"))
    if problems or id_number is None:
        return problems
    return MemberRecord(row, id_number, cleaned["branch_of_record"], cleaned["joined_on"], status)


class CaseError(RosterError):
    """A command the case's state does not allow; `field` and `reason` name why."""


def can_decide(case: Mapping[str, Any], decision: str) -> None:
    """Raise CaseError unless `decision` (verified / rejected) may close this case now."""
    if case["status"] != CaseStatus.CANDIDATE:
        raise CaseError("decision", "case_closed", "该核实案已经结案")
    if decision == CaseStatus.VERIFIED and not any(
        a["outcome"] == Outcome.CONFIRMED for a in case.get("attempts", [])
    ):
        raise CaseError("decision", "no_confirming_attempt", "认定为党员前，须至少有一次核实结果为“确认”")
