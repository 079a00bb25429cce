"""The roster's HTTP API for finding a driver (查找司机) from the staff console.

The searched value is personal data, so it travels in a POST body, never in a URL.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field
from roadbranch_shared.request_body import RequestBody, one_of

from roster.app.search import DriverSearch
from roster.domain.drivers import MAX_TEXT
from roster.domain.errors import RosterError
from roster.domain.search import SearchBy, search_key
from roster.entrypoints.http import Readers, driver_view

router = APIRouter(prefix="/v1", tags=["drivers"])


def search_of(request: Request) -> DriverSearch:
    search: DriverSearch = request.app.state.driver_search
    return search


class DriverSearchIn(RequestBody):
    by: str = Field(description="name | phone | id_number | plate", json_schema_extra=one_of(SearchBy.ALL))
    value: str = Field(
        max_length=MAX_TEXT,
        description="姓名、手机号、身份证号或车牌号，按导入时的规则规范化后精确匹配（不是模糊查找）",
    )


@router.post("/driver-searches")
async def search_drivers(request: Request, body: DriverSearchIn, principal: Readers) -> dict[str, Any]:
    """Find active drivers by name, phone, ID number or plate: an exact match on the value as the
    import normalises it (a phone's +86 and dashes, a lower-case `x`, spaces in a name or plate do
    not matter). Personal data in the answer is masked; each driver carries his member case
    (`member`: id and status) or null. At most 50 drivers, in id order; `truncated` says more
    matched. Every search is audited (who, by what key, how many found), never with the value.

    Drivers imported before names were indexed are not found by name until a list with them is
    imported again (their name is indexed then); by phone, ID number and plate they are."""
    try:
        key = search_key(body.by, body.value)
    except RosterError as e:
        raise e.as_api_error() from None
    found = await search_of(request).find(key, subject=principal.subject, role=str(principal.role))
    drivers = []
    for doc in found.drivers:
        case = found.cases.get(doc["_id"])
        member = {"member_id": case["_id"], "status": case["status"]} if case else None
        drivers.append({**driver_view(doc), "member": member})
    return {"drivers": drivers, "truncated": found.truncated}
