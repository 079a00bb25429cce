"""The roster's HTTP API for its audit log (审计日志): who read an unmasked identity, searched for
drivers or exported the register, and when. Read by the same roles as identity's audit trail."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.domain import run_command
from roadbranch_shared.instants import IsoAwareDateTime

from roster.app.audit import AuditLog, AuditQuery

router = APIRouter(prefix="/v1", tags=["audit"])
AuditReaders = Annotated[Principal, Depends(require_roles(Role.ORG_DEPARTMENT, Role.ADMINISTRATOR))]


def audit_of(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit_log
    return audit


@router.get("/audit")
async def audit(
    request: Request,
    _: AuditReaders,
    action: Annotated[
        Literal["read_identity", "search_driver", "export_register"] | None,
        Query(description="read_identity | search_driver | export_register"),
    ] = None,
    subject: Annotated[str | None, Query(min_length=1, max_length=80, description="who did it")] = None,
    since: Annotated[
        IsoAwareDateTime | None, Query(description="entries at or after this time (ISO 8601 with a zone)")
    ] = None,
    until: Annotated[
        IsoAwareDateTime | None, Query(description="entries before this time (ISO 8601 with a zone)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 100,
    before: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="the next page: `next_before` of the previous one"),
    ] = None,
) -> dict[str, Any]:
    """Unmasked identity reads (with their purpose), driver searches (by which key, how many found,
    never the value) and register exports (how many drivers), newest first. `next_before` is the
    cursor of the next page, null on the last one."""
    wanted = AuditQuery(action=action, subject=subject, since=since, until=until)
    entries = await run_command(audit_of(request).recent(wanted, limit=limit, before=before))
    return {"records": entries, "next_before": entries[-1]["audit_id"] if len(entries) == limit else None}
