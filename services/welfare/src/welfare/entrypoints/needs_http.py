"""HTTP API of the direct line (诉求直通车): needs and the resource list (资源清单)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, StrictBool, StrictFloat
from roadbranch_shared.auth import CurrentPrincipal, Principal, Role, require_roles
from roadbranch_shared.documents import public
from roadbranch_shared.errors import ApiError, ErrorCode, FieldError
from roadbranch_shared.idempotency import Idempotent
from roadbranch_shared.request_body import JsonInt, RequestBody, one_of

from welfare.app.needs import Needs
from welfare.app.resources import RESOURCE_ID, Resources
from welfare.app.staff import ReachableStaff
from welfare.domain.needs import CATEGORIES, URGENCIES
from welfare.entrypoints.errors import Officers, actor, run_command

router = APIRouter(prefix="/v1", tags=["needs"])
Filers = Annotated[
    Principal, Depends(require_roles(Role.DRIVER, Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF))
]
Drivers = Annotated[Principal, Depends(require_roles(Role.DRIVER))]


def needs_of(request: Request) -> Needs:
    needs: Needs = request.app.state.needs
    return needs


def resources_of(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


class Location(RequestBody):
    text: str = Field(
        default="", max_length=200, description="where he is, in his words (e.g. G348 K120 附近)"
    )
    latitude: StrictFloat | None = Field(default=None, ge=-90, le=90)
    longitude: StrictFloat | None = Field(default=None, ge=-180, le=180)


class NeedIn(RequestBody):
    category: str = Field(description=" | ".join(CATEGORIES), json_schema_extra=one_of(CATEGORIES))
    urgency: str = Field(
        default="normal", description=" | ".join(URGENCIES), json_schema_extra=one_of(URGENCIES)
    )
    description: str = Field(min_length=2, max_length=2000)
    location: Location | None = None
    driver_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="staff filing for a driver"
    )


@router.post("/needs", status_code=201)
async def file_need(request: Request, body: NeedIn, principal: Filers, once: Idempotent) -> dict[str, Any]:
    """File a need. A driver files his own; staff file on a driver's behalf (from a call or a visit).
    With an `Idempotency-Key` a repeat files nothing more and answers the first answer again."""
    return await once.run(lambda: _file_need(request, body, principal, once.digest))


async def _file_need(request: Request, body: NeedIn, principal: Principal, key: str | None) -> dict[str, Any]:
    if principal.role == Role.DRIVER:
        if body.driver_id not in (None, principal.driver_id):
            raise ApiError(403, ErrorCode.FORBIDDEN, "司机只能为自己提交诉求", field="driver_id")
        driver_id, by_staff = str(principal.driver_id), False
    elif body.driver_id is None:
        raise ApiError.invalid([FieldError("driver_id", "required", "代司机提交诉求须填写 driver_id")])
    else:
        driver_id, by_staff = body.driver_id, True
    need = await run_command(
        needs_of(request).file(
            driver_id=driver_id,
            category=body.category,
            urgency=body.urgency,
            description=body.description,
            location=body.location.model_dump() if body.location else None,
            by=actor(principal),
            by_staff=by_staff,
            request=key,
        )
    )
    await request.app.state.drivers.catch_up_erasure(driver_id)
    return public(need, "need_id")


@router.get("/needs")
async def list_needs(
    request: Request,
    principal: CurrentPrincipal,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: str = "",
) -> dict[str, Any]:
    """Needs a page at a time: a driver sees his own; welfare officers and the work group see all."""
    if principal.role == Role.DRIVER:
        driver_id = principal.driver_id
    elif principal.role in (Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF):
        driver_id = None
    else:
        raise ApiError(403, ErrorCode.FORBIDDEN, "没有权限查看诉求")
    found = await needs_of(request).page(driver_id=driver_id, status=status, limit=limit, after=after)
    return {"needs": [public(n, "need_id") for n in found]}


@router.get("/needs/{need_id}")
async def get_need(request: Request, need_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    need = await run_command(needs_of(request).get(need_id))
    if principal.role == Role.DRIVER:
        if need["driver_id"] != principal.driver_id:
            raise ApiError(404, ErrorCode.NOT_FOUND, "没有这条诉求", field="need_id")
    elif principal.role not in (Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF):
        raise ApiError(403, ErrorCode.FORBIDDEN, "没有权限查看诉求")
    return public(need, "need_id")


@router.get("/needs/{need_id}/suggestions")
async def suggestions(request: Request, need_id: str, _: Officers) -> dict[str, Any]:
    """Active resource-list entries of the need's category, to match from."""
    need = await run_command(needs_of(request).get(need_id))
    found = await resources_of(request).entries(category=need["category"])
    return {"resources": [public(r, "resource_id") for r in found]}


class MatchIn(RequestBody):
    resource_ids: list[Annotated[str, Field(json_schema_extra={"pattern": RESOURCE_ID.pattern})]] = Field(
        min_length=1, max_length=20
    )


@router.post("/needs/{need_id}/match")
async def match(request: Request, need_id: str, body: MatchIn, principal: Officers) -> dict[str, Any]:
    """Match the need to entries of the resource list."""
    need = await run_command(needs_of(request).match(need_id, body.resource_ids, by=principal.subject))
    return public(need, "need_id")


class AssignIn(RequestBody):
    handler_id: str = Field(min_length=1, max_length=64, description="the handler's subject id")


@router.post("/needs/{need_id}/assign")
async def assign(request: Request, need_id: str, body: AssignIn, principal: Officers) -> dict[str, Any]:
    """Hand the need to a handler of the rights-protection group (again, to reassign). `warnings`
    says when notify cannot remind him (no entry in its staff directory, or no personal channel)."""
    need = await run_command(needs_of(request).assign(need_id, body.handler_id, by=principal.subject))
    staff: ReachableStaff = request.app.state.reachable_staff
    return {**public(need, "need_id"), "warnings": await staff.handler_warnings(body.handler_id)}


class ResolveIn(RequestBody):
    summary: str = Field(min_length=2, max_length=2000, description="what was done")


@router.post("/needs/{need_id}/resolve")
async def resolve(request: Request, need_id: str, body: ResolveIn, principal: Officers) -> dict[str, Any]:
    """Close the need with what was done; the driver is then asked to rate it."""
    need = await run_command(needs_of(request).resolve(need_id, body.summary, by=principal.subject))
    return public(need, "need_id")


class RatingIn(RequestBody):
    rating: JsonInt = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


@router.post("/needs/{need_id}/rating")
async def rate(
    request: Request, need_id: str, body: RatingIn, principal: Drivers, once: Idempotent
) -> dict[str, Any]:
    """The driver who filed the need rates the help, 1 to 5, once per resolution (a repeat with the
    same `Idempotency-Key` gets the first answer; without one, a second rating is a 409)."""

    async def work() -> dict[str, Any]:
        need = await run_command(
            needs_of(request).rate(
                need_id,
                body.rating,
                body.comment,
                driver_id=str(principal.driver_id),
                by=actor(principal),
                request=once.digest,
            )
        )
        return public(need, "need_id")

    return await once.run(work)


class ReopenIn(RequestBody):
    reason: str = Field(min_length=2, max_length=1000)


@router.post("/needs/{need_id}/reopen")
async def reopen(
    request: Request, need_id: str, body: ReopenIn, principal: Filers, once: Idempotent
) -> dict[str, Any]:
    """Reopen a resolved need (the driver his own, or staff); its target runs again from now."""
    own = principal.driver_id if principal.role == Role.DRIVER else None

    async def work() -> dict[str, Any]:
        need = await run_command(
            needs_of(request).reopen(
                need_id, body.reason, by=actor(principal), driver_id=own, request=once.digest
            )
        )
        return public(need, "need_id")

    return await once.run(work)


class ResourceIn(RequestBody):
    name: str = Field(min_length=2, max_length=100)
    category: str = Field(description=" | ".join(CATEGORIES), json_schema_extra=one_of(CATEGORIES))
    area: str = Field(default="", max_length=100)
    contact: str = Field(default="", max_length=200, description="an office's contact, not a person's")
    eligibility: str = Field(default="", max_length=500)
    services: list[str] = Field(default_factory=list, max_length=20)


class ResourcePatch(RequestBody):
    name: str | None = Field(default=None, min_length=2, max_length=100)
    category: str | None = Field(default=None, json_schema_extra=one_of(CATEGORIES, optional=True))
    area: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=200)
    eligibility: str | None = Field(default=None, max_length=500)
    services: list[str] | None = Field(default=None, max_length=20)
    active: StrictBool | None = None


@router.get("/resources", tags=["resources"])
async def list_resources(
    request: Request, _: CurrentPrincipal, category: str | None = None, include_retired: bool = False
) -> dict[str, Any]:
    found = await resources_of(request).entries(category=category, include_retired=include_retired)
    return {"resources": [public(r, "resource_id") for r in found]}


@router.post("/resources", tags=["resources"], status_code=201)
async def add_resource(request: Request, body: ResourceIn, principal: Officers) -> dict[str, Any]:
    doc = await run_command(resources_of(request).add(body.model_dump(), by=principal.subject))
    return public(doc, "resource_id")


@router.get("/resources/{resource_id}", tags=["resources"])
async def get_resource(request: Request, resource_id: str, _: CurrentPrincipal) -> dict[str, Any]:
    return public(await run_command(resources_of(request).get(resource_id)), "resource_id")


@router.patch("/resources/{resource_id}", tags=["resources"])
async def update_resource(
    request: Request, resource_id: str, body: ResourcePatch, principal: Officers
) -> dict[str, Any]:
    fields = body.model_dump(exclude_none=True)
    doc = await run_command(resources_of(request).update(resource_id, fields, by=principal.subject))
    return public(doc, "resource_id")


@router.delete("/resources/{resource_id}", tags=["resources"])
async def retire_resource(request: Request, resource_id: str, principal: Officers) -> dict[str, Any]:
    """Retire an entry (kept for the needs matched to it, no longer offered)."""
    return public(
        await run_command(resources_of(request).retire(resource_id, by=principal.subject)), "resource_id"
    )
