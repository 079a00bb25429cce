"""The files staff download about drivers: the import template (摸底名单模板) and the register of every
active driver (一人一档登记册), personal data masked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import IO, Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from roadbranch_shared.auth import Principal, Role, require_roles

from roster.adapters.tables import XlsxSheet, csv_with_bom
from roster.domain.drivers import COLUMNS, TEMPLATE_HEADINGS, DriverSource
from roster.domain.members import CaseStatus
from roster.entrypoints.http import Staff, driver_view
from roster.entrypoints.search_http import search_of

router = APIRouter(prefix="/v1", tags=["drivers"])
Exporters = Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT))]

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The register's columns: driver_view's fields, then the member case.
REGISTER_HEADINGS = (
    "司机编号",
    "所在县",
    *TEMPLATE_HEADINGS,
    "名单来源",
    "党员核实状态",
)
_TEXT_COLUMNS = tuple(i for i, field in enumerate(COLUMNS) if field in ("id_number", "phone"))


def attachment(filename: str, fallback: str) -> str:
    """Content-Disposition for a download named in Chinese (RFC 6266 / RFC 5987), with an ASCII name
    for clients that cannot read `filename*`."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


@router.get(
    "/driver-imports/template",
    response_class=Response,
    responses={200: {"content": {CSV: {}, XLSX: {}}, "description": "the template file"}},
)
async def import_template(
    _: Staff,
    file_type: Annotated[Literal["csv", "xlsx"], Query(alias="format", description="csv | xlsx")] = "xlsx",
) -> Response:
    """The driver-list template: the heading row of the columns `POST /v1/driver-imports` reads
    (姓名、身份证号、手机号 are required), and no rows, so no example person can be imported by
    mistake. CSV is UTF-8 with a BOM (Excel opens the Chinese headings); in the XLSX the ID number
    and phone columns are text, so Excel keeps all 18 digits."""
    if file_type == "csv":
        content, media_type = csv_with_bom(TEMPLATE_HEADINGS), CSV
    else:
        sheet = XlsxSheet("司机摸底名单", TEMPLATE_HEADINGS, text_columns=_TEXT_COLUMNS)
        with sheet.save() as saved:
            content, media_type = saved.read(), XLSX
    disposition = attachment(f"司机摸底名单模板.{file_type}", f"driver-list-template.{file_type}")
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


@router.get(
    "/drivers/register.xlsx",
    response_class=StreamingResponse,
    responses={200: {"content": {XLSX: {}}, "description": "the register workbook"}},
)
async def register(request: Request, principal: Exporters) -> StreamingResponse:
    """The register (一人一档登记册) of every active driver as XLSX: driver id, county, masked name,
    ID number and phone, household registration, location, plate, employer, list sources and
    member case status. Each export is audited (who, how many drivers)."""
    search = search_of(request)
    sheet = XlsxSheet("司机登记册", REGISTER_HEADINGS)
    count = 0
    async for page in search.register():
        rows = [_register_row(driver_view(doc), case) for doc, case in page]
        await asyncio.to_thread(_append_all, sheet, rows)
        count += len(rows)
    saved = await asyncio.to_thread(sheet.save)
    try:
        await search.audit_export(subject=principal.subject, role=str(principal.role), count=count)
    except BaseException:
        saved.close()
        raise
    return StreamingResponse(
        _chunks(saved),
        media_type=XLSX,
        headers={"Content-Disposition": attachment("司机登记册.xlsx", "driver-register.xlsx")},
    )


def _register_row(view: dict[str, Any], case: dict[str, Any] | None) -> list[str]:
    sources = dict.fromkeys(
        DriverSource.LABELS.get(s["source"], s["source"])
        + (f"（{s['source_name']}）" if s.get("source_name") else "")
        for s in view["sources"]
    )
    return [
        view["driver_id"],
        view["county"],
        *(view[field] for field in COLUMNS),
        "、".join(sources),
        CaseStatus.LABELS.get(case["status"], case["status"]) if case else "",
    ]


def _append_all(sheet: XlsxSheet, rows: list[list[str]]) -> None:
    for row in rows:
        sheet.append(row)


def _chunks(saved: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    with saved:
        while chunk := saved.read(size):
            yield chunk
