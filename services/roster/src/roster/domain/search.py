"""Finding a driver by what staff know of him (查找司机): the keys one may search by, and how a typed
value becomes the exact value the roster stores (a blind index, or the plate itself).

A value that cannot be a phone, ID number, name or plate is refused naming `value`, never echoed.
"""

from __future__ import annotations

from dataclasses import dataclass

from roadbranch_shared.pii import validate_id_number, validate_phone

from roster.domain.drivers import MAX_TEXT, MESSAGES, RowReason, clean_text, is_plate, name_key
from roster.domain.errors import RosterError


class SearchBy:
    NAME = "name"
    PHONE = "phone"
    ID_NUMBER = "id_number"
    PLATE = "plate"
    ALL = (NAME, PHONE, ID_NUMBER, PLATE)
    # The ones matched through a blind index (the value is personal data kept only as an HMAC).
    INDEXED = (NAME, PHONE, ID_NUMBER)


@dataclass(frozen=True)
class SearchKey:
    """What to look for: `by` and the value normalised as the import stores it."""

    by: str
    value: str


def search_key(by: str, raw: str) -> SearchKey:
    """The normalised key, or RosterError naming `by` or `value` with the reason."""
    if by not in SearchBy.ALL:
        message = "查找方式须为：" + "、".join(SearchBy.ALL)
        raise RosterError("by", "unknown_key", message, RosterError.INVALID)
    if by == SearchBy.PHONE:
        phone = validate_phone(raw)
        return SearchKey(by, _valid(phone.normalized, phone.errors))
    if by == SearchBy.ID_NUMBER:
        id_number = validate_id_number(raw)
        return SearchKey(by, _valid(id_number.normalized, id_number.errors))
    if by == SearchBy.NAME:
        name = name_key(raw)
        if len(name) > MAX_TEXT:
            raise _refused(RowReason.TOO_LONG)
        return SearchKey(by, _valid(name or None, [RowReason.REQUIRED]))
    plate = "".join(clean_text(raw).split()).upper()
    if not plate:
        raise _refused(RowReason.REQUIRED)
    if not is_plate(plate):
        raise _refused(RowReason.PLATE_FORMAT)
    return SearchKey(by, plate)


def _valid(normalized: str | None, errors: list[str]) -> str:
    if normalized is None:
        raise _refused(errors[0] if errors else RowReason.REQUIRED)
    return normalized


def _refused(reason: str) -> RosterError:
    return RosterError("value", reason, MESSAGES.get(reason, reason), RosterError.INVALID)
