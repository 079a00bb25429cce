"""Running a use case for a route: a RosterError becomes the project's JSON error answer."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from roadbranch_shared.errors import ApiError, ErrorCode, FieldError

from roster.domain.errors import RosterError


async def run_command(work: Awaitable[Any]) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await work
        return result
    except RosterError as e:
        if e.status == RosterError.INVALID:
            raise ApiError.invalid([FieldError(e.field, e.reason, e.message)]) from None
        status, code = (
            (404, ErrorCode.NOT_FOUND) if e.status == RosterError.NOT_FOUND else (409, ErrorCode.CONFLICT)
        )
        raise ApiError(status, code, e.message, field=e.field, details={"reason": e.reason}) from None
