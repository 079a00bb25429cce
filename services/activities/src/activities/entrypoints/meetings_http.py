"""HTTP API of meetings and attendance: staff schedule, move, cancel, hold and record; a driver sees
his own meetings, checks himself in, and makes a meeting up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from roadbranch_shared.auth import CurrentPrincipal, Principal, Role, require_roles
from roadbranch_shared.domain import DomainError, run_command

from activities.app.access import STAFF, person_of
from activities.app.wiring import Activities
from activities.entrypoints.models import (
    CancelMeeting,
    CheckIn,
    HoldMeeting,
    MakeUp,
    Quote,
    RecordAttendance,
    RescheduleMeeting,
    ScheduleMeeting,
)

router = APIRouter(prefix="/v1/meetings", tags=["meetings"])
staff = require_roles(*STAFF)
Staff = Depends(staff)


def activities(request: Request) -> Activities:
    found: Activities = request.app.state.activities
    return found


def driver_id_of(principal: Principal) -> str:
    """The caller's own driver id: what a driver does, he does for himself only (else 403)."""
    if principal.role != Role.DRIVER or not principal.driver_id:
        refusal = DomainError(
            "Authorization", "drivers_only", "只有司机本人可以这样做", DomainError.FORBIDDEN
        )
        raise refusal.as_api_error()
    return principal.driver_id


@router.post("", status_code=201)
async def schedule(body: ScheduleMeeting, request: Request, principal: Principal = Staff) -> dict[str, Any]:
    """Schedule a meeting; the invitees are the organisation's members (or committee) as known now."""
    return await run_command(activities(request).meetings.schedule(principal, body.fields()))


@router.get("")
async def list_meetings(
    request: Request,
    principal: Principal = Staff,
    organisation_id: str | None = None,
    status: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """Meetings newest first: a secretary's own organisation by default, an instructor's venue."""
    found = activities(request).meetings.list(
        principal, organisation_id=organisation_id, status=status, limit=limit
    )
    return {"meetings": await run_command(found)}


@router.get("/{meeting_id}")
async def view(meeting_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Staff see the whole meeting with its figures; a driver sees it with his own attendance only."""
    a = activities(request)
    if principal.role == Role.DRIVER:
        return await run_command(a.attendances.own_view(meeting_id, driver_id_of(principal)))
    staff(principal)
    return await run_command(a.meetings.view(meeting_id))


@router.post("/{meeting_id}/reschedule")
async def reschedule(
    meeting_id: str, body: RescheduleMeeting, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    return await run_command(activities(request).meetings.reschedule(meeting_id, principal, body.fields()))


@router.post("/{meeting_id}/cancel")
async def cancel(
    meeting_id: str, body: CancelMeeting, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    return await run_command(activities(request).meetings.cancel(meeting_id, principal, body.reason))


@router.post("/{meeting_id}/hold")
async def hold(
    meeting_id: str, body: HoldMeeting, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    """The meeting took place: summary, figures, and meeting-held (and lesson-held) published."""
    return await run_command(activities(request).meetings.hold(meeting_id, principal, body.fields()))


@router.put("/{meeting_id}/attendance")
async def record_attendance(
    meeting_id: str, body: RecordAttendance, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    records = [line.fields() for line in body.records]
    return await run_command(activities(request).attendances.record(meeting_id, principal, records))


@router.post("/{meeting_id}/check-in-code", status_code=201)
async def check_in_code(meeting_id: str, request: Request, principal: Principal = Staff) -> dict[str, Any]:
    """A short code to show at the venue; a new one replaces the last, and it expires."""
    return await run_command(activities(request).attendances.new_code(meeting_id, principal))


@router.post("/{meeting_id}/check-in")
async def check_in(
    meeting_id: str, body: CheckIn, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A driver checks himself in on site with the venue's code (only for himself)."""
    driver_id = driver_id_of(principal)
    return await run_command(activities(request).attendances.check_in(meeting_id, driver_id, body.code))


@router.get("/{meeting_id}/make-up")
async def make_up_material(meeting_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """补学: the material, the deadline and the quiz (without answers) for an absent or on-leave driver."""
    return await run_command(activities(request).quizzes.make_up_material(meeting_id, person_of(principal)))


@router.post("/{meeting_id}/make-up")
async def make_up(
    meeting_id: str, body: MakeUp, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Answer the make-up quiz; a pass within the window completes the make-up."""
    a = activities(request)

    async def work() -> dict[str, Any]:
        material = await a.quizzes.make_up_material(meeting_id, person_of(principal))
        return await a.quizzes.attempt(material["quiz"]["quiz_id"], person_of(principal), body.answers)

    return await run_command(work())


@router.post("/{meeting_id}/quotes", status_code=201)
async def record_quote(
    meeting_id: str, body: Quote, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    """An attendee's own words after the meeting, with his consent, for the briefing."""
    return await run_command(activities(request).meetings.record_quote(meeting_id, principal, body.fields()))
