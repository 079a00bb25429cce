"""The roster's HTTP API: driver-list imports and masked driver records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import Field
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.errors import ApiError, ErrorCode, FieldError
from roadbranch_shared.idempotency import Idempotent
from roadbranch_shared.request_body import RequestBody, one_of

from roster.app.contacts import CHANNELS, QUIET_MODES
from roster.app.imports import DriverImports, ImportRequest, check_table
from roster.app.privacy import NoSuchDriver, Privacy
from roster.domain.drivers import COLUMNS, DriverSource
from roster.entrypoints.uploads import checked_upload

router = APIRouter(prefix="/v1", tags=["drivers"])
Staff = Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF))]
Readers = Annotated[
    Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT, Role.OPERATOR))
]
Erasers = Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT))]
IdentityReaders = Annotated[Principal, Depends(require_roles(Role.ORG_DEPARTMENT))]
ContactEditors = Annotated[Principal, Depends(require_roles(Role.DRIVER, Role.WORK_GROUP_STAFF))]


def imports_of(request: Request) -> DriverImports:
    imports: DriverImports = request.app.state.driver_imports
    return imports


@router.post("/driver-imports", status_code=202)
async def import_drivers(
    request: Request,
    response: Response,
    principal: Staff,
    file: Annotated[
        UploadFile, File(description="CSV 或 XLSX；列：" + "、".join(a[0] for a in COLUMNS.values()))
    ],
    source: Annotated[
        str,
        Form(
            description="freight_company | freight_platform | individual",
            json_schema_extra=one_of(DriverSource.ALL),
        ),
    ],
    legal_basis: Annotated[str, Form(min_length=4, max_length=500, description="处理个人信息的法律依据")],
    source_name: Annotated[str, Form(max_length=100, description="企业或平台名称")] = "",
    county: Annotated[
        str | None, Form(min_length=1, max_length=50, description="默认为本服务所在县（default_county）")
    ] = None,
) -> dict[str, Any]:
    """Import a driver list (摸底排查名单). Returns at once with the row problems; valid rows are
    written in the background: follow `GET /v1/driver-imports/{id}` for progress."""
    if source not in DriverSource.ALL:
        raise ApiError.invalid(
            [FieldError("source", "unknown_source", "名单来源须为：" + "、".join(DriverSource.ALL))]
        )
    checked = await checked_upload(file, check_table, COLUMNS)
    batch = await imports_of(request).start(
        ImportRequest(
            source=source,
            legal_basis=legal_basis,
            county=county or request.app.state.default_county,
            filename=file.filename or "",
            started_by=principal.subject,
            source_name=source_name,
        ),
        checked,
    )
    response.headers["Location"] = f"/v1/driver-imports/{batch['_id']}"
    return _batch_view(batch)


@router.get("/driver-imports/{batch_id}")
async def driver_import(request: Request, batch_id: str, _: Readers) -> dict[str, Any]:
    """An import's progress and its report of rejected rows (row, field, reason)."""
    batch = await imports_of(request).db.driver_imports.find_one({"_id": batch_id})
    if batch is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "没有这次导入", field="batch_id")
    return _batch_view(batch)


@router.get("/drivers")
async def drivers(
    request: Request,
    _: Readers,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 100,
    after: Annotated[str, Query(max_length=64, description="the last driver id of the previous page")] = "",
) -> dict[str, Any]:
    """Drivers with masked personal data, a page at a time (`after`: the last driver_id seen)."""
    found = imports_of(request).db.drivers.find(
        {"_id": {"$gt": after}, "status": "active"}, sort=[("_id", 1)], limit=limit
    )
    return {"drivers": [driver_view(doc) async for doc in found]}


@router.get("/drivers/{driver_id}")
async def driver(request: Request, driver_id: str, _: Readers) -> dict[str, Any]:
    """A driver's record with masked personal data and where the record came from."""
    doc = await imports_of(request).db.drivers.find_one({"_id": driver_id})
    if doc is None or doc.get("status") == "erased":
        raise ApiError(404, ErrorCode.NOT_FOUND, "没有这名司机", field="driver_id")
    return driver_view(doc)


class ErasureIn(RequestBody):
    reason: str = Field(min_length=2, max_length=500, description="why (e.g. the driver's deletion request)")
    request_reference: str = Field(min_length=1, max_length=100, description="the request's reference number")


@router.post("/drivers/{driver_id}/erasure")
async def erase(request: Request, driver_id: str, body: ErasureIn, principal: Erasers) -> dict[str, Any]:
    """Erase a driver's personal data (PIPL deletion): an erased marker stays, the contact topic
    gets a tombstone. Idempotent."""
    try:
        doc = await privacy_of(request).erase(
            driver_id, by=principal.subject, reason=body.reason, request_reference=body.request_reference
        )
    except NoSuchDriver:
        raise ApiError(404, ErrorCode.NOT_FOUND, "没有这名司机", field="driver_id") from None
    return {"driver_id": driver_id, "status": doc["status"], "erased_at": doc["erasure"]["at"]}


@router.get("/drivers/{driver_id}/identity")
async def identity(
    request: Request,
    driver_id: str,
    principal: IdentityReaders,
    purpose: Annotated[str, Query(min_length=2, max_length=200)],
) -> dict[str, Any]:
    """The unmasked name, ID number and phone. Organisation department only; every read is audited
    with its purpose."""
    try:
        return await privacy_of(request).read_identity(
            driver_id, subject=principal.subject, role=str(principal.role), purpose=purpose
        )
    except NoSuchDriver:
        raise ApiError(404, ErrorCode.NOT_FOUND, "没有这名司机", field="driver_id") from None


LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class QuietHoursIn(RequestBody):
    mode: str = Field(
        description="county: the county's quiet hours | own: from start to end | off: none, any hour",
        json_schema_extra=one_of(QUIET_MODES),
    )
    start: str | None = Field(default=None, pattern=LOCAL_TIME, description='local time "HH:MM", with own')
    end: str | None = Field(
        default=None,
        pattern=LOCAL_TIME,
        description='local time "HH:MM" (next morning if earlier than start)',
    )


class ContactIn(RequestBody):
    preferred_channel: str = Field(
        description="sms | wechat | email | inbox",
        json_schema_extra=one_of(CHANNELS),
    )
    wechat_id: str | None = Field(default=None, min_length=1, max_length=64)
    quiet_hours: QuietHoursIn | None = Field(
        default=None,
        description="his own quiet hours for non-urgent messages; left out, what he chose before stays",
    )


def quiet_hours_problems(quiet: QuietHoursIn) -> list[FieldError]:
    """An own window needs a start and an end that differ; the other modes take neither."""
    if quiet.mode not in QUIET_MODES:
        return [FieldError("quiet_hours.mode", "unknown_mode", "免打扰方式须为：" + "、".join(QUIET_MODES))]
    problems = []
    for name in ("start", "end"):
        given = getattr(quiet, name)
        if quiet.mode == "own" and given is None:
            problems.append(
                FieldError(f"quiet_hours.{name}", "required", "自定义免打扰时段须填写开始和结束时间")
            )
        if quiet.mode != "own" and given is not None:
            problems.append(
                FieldError(f"quiet_hours.{name}", "not_allowed", "只有自定义时段（own）才填写时间")
            )
    if quiet.mode == "own" and quiet.start is not None and quiet.start == quiet.end:
        problems.append(FieldError("quiet_hours.end", "same_as_start", "结束时间不能与开始时间相同"))
    return problems


@router.put("/drivers/{driver_id}/contact-preferences")
async def contact_preferences(
    request: Request, driver_id: str, body: ContactIn, principal: ContactEditors, once: Idempotent
) -> dict[str, Any]:
    """How the driver wants reminders, and when not (his own quiet hours): a driver sets his own,
    staff anyone's. Published for the notifier on roster.contact.v1."""
    if principal.role == Role.DRIVER and principal.driver_id != driver_id:
        raise ApiError(403, ErrorCode.FORBIDDEN, "司机只能修改自己的联系方式", field="driver_id")
    if body.preferred_channel not in CHANNELS:
        raise ApiError.invalid(
            [FieldError("preferred_channel", "unknown_channel", "首选渠道须为：" + "、".join(CHANNELS))]
        )
    if body.preferred_channel == "wechat" and not body.wechat_id:
        raise ApiError.invalid([FieldError("wechat_id", "required", "选择微信时须填写微信号")])
    if body.quiet_hours is not None and (problems := quiet_hours_problems(body.quiet_hours)):
        raise ApiError.invalid(problems)
    quiet = body.quiet_hours.model_dump() if body.quiet_hours else None

    async def work() -> dict[str, Any]:
        try:
            found: dict[str, Any] = await request.app.state.contacts.set(
                driver_id,
                preferred_channel=body.preferred_channel,
                wechat_id=body.wechat_id,
                quiet_hours=quiet,
            )
            return found
        except NoSuchDriver:
            raise ApiError(404, ErrorCode.NOT_FOUND, "没有这名司机", field="driver_id") from None

    return await once.run(work)


def privacy_of(request: Request) -> Privacy:
    privacy: Privacy = request.app.state.privacy
    return privacy


def driver_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A driver as every response shows him: personal data masked."""
    identity = doc["identity"]
    return {
        "driver_id": doc["_id"],
        "county": doc["county"],
        "name": identity["name_masked"],
        "id_number": identity["id_number_masked"],
        "phone": identity["phone_masked"],
        "household_registration": doc.get("household_registration", ""),
        "location": doc.get("location", ""),
        "plate": doc.get("plate", ""),
        "employer": doc.get("employer", ""),
        "sources": [
            {k: s[k] for k in ("batch_id", "source", "source_name", "legal_basis", "row", "imported_at")}
            for s in doc.get("sources", [])
        ],
    }


def _batch_view(batch: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in batch.items() if k != "_id"}
    return {"batch_id": batch["_id"], **view}
