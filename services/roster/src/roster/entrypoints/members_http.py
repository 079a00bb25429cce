"""The roster's HTTP API for member records, the cross-check and verification cases."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import Field
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.documents import public
from roadbranch_shared.domain import run_command
from roadbranch_shared.errors import ApiError, ErrorCode, FieldError
from roadbranch_shared.idempotency import Idempotent
from roadbranch_shared.instants import IsoDateTime
from roadbranch_shared.request_body import RequestBody, one_of

from roster.app.member_cases import CaseFilter, MemberCases
from roster.app.members import Members, check_records
from roster.domain.members import RECORD_COLUMNS, CaseStatus, Method, Outcome
from roster.entrypoints.http import driver_view
from roster.entrypoints.organisation_http import scope_of
from roster.entrypoints.uploads import checked_upload

router = APIRouter(prefix="/v1", tags=["members"])
OrgDepartment = Annotated[Principal, Depends(require_roles(Role.ORG_DEPARTMENT))]
Staff = Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF))]
Driver = Annotated[Principal, Depends(require_roles(Role.DRIVER))]
Readers = Annotated[
    Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT, Role.OPERATOR))
]
# A branch secretary reads the listing narrowed to his branch (roster.app.scope).
CaseReaders = Annotated[
    Principal,
    Depends(require_roles(Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT, Role.OPERATOR, Role.BRANCH_SECRETARY)),
]


def members_of(request: Request) -> Members:
    members: Members = request.app.state.members
    return members


def cases_of(request: Request) -> MemberCases:
    cases: MemberCases = request.app.state.member_cases
    return cases


@router.post("/member-checks")
async def cross_check(
    request: Request,
    principal: OrgDepartment,
    file: Annotated[
        UploadFile, File(description="党员信息：" + "、".join(a[0] for a in RECORD_COLUMNS.values()))
    ],
    county: Annotated[
        str | None,
        Form(
            min_length=1,
            max_length=50,
            description="the county whose drivers the records are checked against (default: the roster's "
            "ROADBRANCH_ROSTER_DEFAULT_COUNTY); drivers of other counties are neither matched nor counted",
        ),
    ] = None,
) -> dict[str, Any]:
    """Cross-check (信息比对) the organisation department's member records against the drivers of
    one county.

    A match opens a verification case; unmatched records are counted and not kept."""
    checked = await checked_upload(file, check_records, RECORD_COLUMNS)
    summary = await members_of(request).cross_check(
        checked, started_by=principal.subject, county=county or request.app.state.default_county
    )
    return _without_id(summary, "check_id")


@router.get("/member-checks/{check_id}")
async def member_check(request: Request, check_id: str, _: Readers) -> dict[str, Any]:
    summary = await members_of(request).db.member_checks.find_one({"_id": check_id})
    if summary is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "没有这次比对", field="check_id")
    return _without_id(summary, "check_id")


@router.post("/members/self-declaration", status_code=201)
async def declare(request: Request, principal: Driver, once: Idempotent) -> dict[str, Any]:
    """A driver declares that he is a Party member (亮身份); a verification case opens (declared
    again, the same case: his case's id is his driver id's)."""
    members = members_of(request)

    async def work() -> dict[str, Any]:
        return _case_view(await run_command(members.declare(str(principal.driver_id))))

    return await once.run(work)


@router.get("/members")
async def cases(
    request: Request,
    principal: CaseReaders,
    status: Annotated[
        Literal["candidate", "verified", "rejected"] | None,
        Query(description="candidate | verified | rejected"),
    ] = None,
    branch_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="members placed in this branch (or, given a party group's id, in that group); "
            "a branch secretary must give his branch or one of its groups",
        ),
    ] = None,
    lost_contact: Annotated[
        Literal["open"] | None, Query(description="open: members with an open lost-contact case")
    ] = None,
    transfer: Annotated[
        Literal["pending"] | None,
        Query(description="pending: members whose transfer letter waits to be accepted or returned"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 100,
    after: Annotated[str, Query(max_length=64, description="the last member id of the previous page")] = "",
) -> dict[str, Any]:
    """Verification cases and members, a page at a time (`after`: the last member_id seen), each
    with its driver masked (`driver`: null once he is erased). A branch secretary reads the members
    of his own branch only, so he passes `branch_id` (403 naming it otherwise)."""
    await run_command(scope_of(request).listing(principal, branch_id, field="branch_id"))
    wanted = CaseFilter(
        status=status,
        branch_id=branch_id,
        lost_contact_open=lost_contact == "open",
        transfer_pending=transfer == "pending",
    )
    found = await cases_of(request).page(wanted, limit=limit, after=after)
    return {"members": [_read_view(case, driver) for case, driver in found]}


@router.get("/members/{member_id}")
async def case(request: Request, member_id: str, _: Readers) -> dict[str, Any]:
    """One case or member, with his driver masked (`driver`: null once he is erased)."""
    found = await run_command(members_of(request).case(member_id))
    drivers = await cases_of(request).drivers([found["driver_id"]])
    return _read_view(found, drivers.get(found["driver_id"]))


class AttemptIn(RequestBody):
    method: str = Field(
        description="field_visit | phone_call | group_meeting | data_comparison",
        json_schema_extra=one_of(Method.ALL),
    )
    outcome: str = Field(
        description="confirmed | not_a_member | unreachable",
        json_schema_extra=one_of(Outcome.ALL),
    )
    notes: str = Field(default="", max_length=1000)
    at: IsoDateTime | None = None


@router.post("/members/{member_id}/attempts")
async def record_attempt(
    request: Request, member_id: str, attempt: AttemptIn, principal: Staff
) -> dict[str, Any]:
    """Record one verification attempt (查身份、核信息): how, with what outcome."""
    problems = []
    if attempt.method not in Method.ALL:
        problems.append(FieldError("method", "unknown_method", "核实方式须为：" + "、".join(Method.ALL)))
    if attempt.outcome not in Outcome.ALL:
        problems.append(FieldError("outcome", "unknown_outcome", "核实结果须为：" + "、".join(Outcome.ALL)))
    if problems:
        raise ApiError.invalid(problems)
    updated = await run_command(
        members_of(request).record_attempt(
            member_id,
            method=attempt.method,
            outcome=attempt.outcome,
            notes=attempt.notes,
            by=principal.subject,
            at=attempt.at,
        )
    )
    return _case_view(updated)


class DecisionIn(RequestBody):
    decision: str = Field(
        description="verified | rejected",
        json_schema_extra=one_of((CaseStatus.VERIFIED, CaseStatus.REJECTED)),
    )
    reason: str = Field(default="", max_length=500)


@router.post("/members/{member_id}/decision")
async def decide(request: Request, member_id: str, decision: DecisionIn, principal: Staff) -> dict[str, Any]:
    """Close the case: `verified` (needs a confirming attempt) or `rejected`."""
    if decision.decision not in (CaseStatus.VERIFIED, CaseStatus.REJECTED):
        raise ApiError.invalid([FieldError("decision", "unknown_decision", "结论须为 verified 或 rejected")])
    updated = await run_command(
        members_of(request).decide(
            member_id, decision=decision.decision, reason=decision.reason, by=principal.subject
        )
    )
    return _case_view(updated)


def _case_view(case: dict[str, Any]) -> dict[str, Any]:
    return public(case, "member_id")


def _read_view(case: dict[str, Any], driver: dict[str, Any] | None) -> dict[str, Any]:
    """A case as the reads show it: with its driver masked, or null once he is erased."""
    return {**_case_view(case), "driver": driver_view(driver) if driver else None}


def _without_id(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return {name: doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}}
