"""Running a use case for a route: a WelfareError becomes the project's JSON error answer, and stored
documents lose their bookkeeping (outbox, version) on the way out."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.errors import ApiError, ErrorCode, FieldError

from welfare.domain.errors import WelfareError

T = TypeVar("T")
INTERNAL_FIELDS = frozenset({"outbox", "outbox_lease", "version", "applied"})
_STATUS = {
    WelfareError.NOT_FOUND: (404, ErrorCode.NOT_FOUND),
    WelfareError.FORBIDDEN: (403, ErrorCode.FORBIDDEN),
    WelfareError.CONFLICT: (409, ErrorCode.CONFLICT),
}

Officers = Annotated[Principal, Depends(require_roles(Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF))]
Readers = Annotated[
    Principal,
    Depends(require_roles(Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT, Role.OPERATOR)),
]


def actor(principal: Principal) -> str:
    """Who acted, as stored: staff by subject; a driver as "driver", since the record he acts on
    already names him by driver id, and an erasure then need not hunt for his subject."""
    return "driver" if principal.role == Role.DRIVER else principal.subject


async def run_command(work: Awaitable[T]) -> T:
    try:
        return await work
    except WelfareError as e:
        if e.status == WelfareError.INVALID:
            raise ApiError.invalid([FieldError(e.field, e.reason, e.message)]) from None
        status, code = _STATUS[e.status]
        raise ApiError(
            status, code, e.message, field=e.field, details={"reason": e.reason, **e.details}
        ) from None


def public(doc: dict[str, Any], id_name: str) -> dict[str, Any]:
    """A stored document as the API shows it: its `_id` under `id_name`, no bookkeeping fields."""
    return {id_name: doc["_id"], **{k: v for k, v in doc.items() if k != "_id" and k not in INTERNAL_FIELDS}}
