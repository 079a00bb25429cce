"""Dates and times as clients send them: ISO 8601 text only.

Pydantic reads a number as seconds since 1970 (`as_of=-152` became 1969-12-31T23:57:28Z): every
date or time an API takes is one of these types, so a number is refused naming the field.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

from roadbranch_shared.errors import ApiError, ErrorCode, FieldError

_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


def _refuse_numbers(value: Any) -> Any:
    if isinstance(value, bool | int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(
            "应为 ISO 8601 格式的日期或时间（例如 2025-01-01 或 2025-01-01T08:00:00+08:00），不接受数字。"
        )
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_refuse_numbers)]
IsoAwareDateTime = Annotated[AwareDatetime, BeforeValidator(_refuse_numbers)]
IsoDate = Annotated[date, BeforeValidator(_refuse_numbers)]
IsoTime = Annotated[time, BeforeValidator(_refuse_numbers)]


def scan_moment(as_of: datetime | None, *, clock_control: bool, field: str = "as_of") -> datetime:
    """The moment an on-demand scan runs as of: now, or `as_of` where the service lets operators
    move its clock (`CLOCK_CONTROL`, tests and demos only). Elsewhere a scan dated in 2596 would
    raise alerts for everyone, so `as_of` is refused naming the field."""
    if as_of is None:
        return datetime.now(UTC)
    if not clock_control:
        raise ApiError(
            403,
            ErrorCode.FORBIDDEN,
            "此服务的时钟不可调整（未开启 clock_control），扫描只能按当前时间运行，请不要指定 as_of。",
            field=field,
        )
    if as_of.tzinfo is None:
        raise ApiError.invalid(
            [FieldError(field, "timezone_required", f"{field} 须带时区，例如 2025-01-01T00:00:00+08:00")]
        )
    return as_of.astimezone(UTC)
