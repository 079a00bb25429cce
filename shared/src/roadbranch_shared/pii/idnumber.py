"""Validation and normalisation of resident ID numbers (GB 11643).

Every ID number is checked here before it is blind-indexed, encrypted or masked.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cache

from stdnum import numdb

# Birth dates are Beijing-time dates; comparing with the server's UTC date would
# reject a number issued for a child born this morning in China.
_CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
# ISO 7064 MOD 11-2 weights for the 17 leading digits, 2**(17-i) mod 11.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS = "10X98765432"
_DIGITS = re.compile(r"[0-9]+")
_DIGITS_THEN_X = re.compile(r"[0-9]+[0-9X]")


class IdReason:
    """Reason codes in `IdNumberCheck.errors` and `IdNumberCheck.warnings`."""

    REQUIRED = "required"
    LENGTH = "length"
    CHARACTERS = "characters"
    BIRTH_DATE = "birth_date"
    CHECK_DIGIT = "check_digit"
    # Warnings: the number is still accepted.
    UNKNOWN_AREA = "unknown_area"
    UPGRADED_FROM_15 = "upgraded_from_15"


@dataclass(frozen=True)
class IdNumberCheck:
    """Outcome of `validate_id_number`; `normalized` is set only when `ok`."""

    ok: bool
    normalized: str | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_char(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    if len(first17) != 17 or not _DIGITS.fullmatch(first17):
        raise ValueError("check_char needs exactly 17 ASCII digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def validate_id_number(raw: str, *, today: date | None = None) -> IdNumberCheck:
    """Check a resident ID number as typed or imported; never raises for bad input.

    `today` is for tests; it defaults to the current date in China.
    """
    # NFKC turns the full-width digits and x of Chinese input methods into ASCII.
    number = unicodedata.normalize("NFKC", raw).strip().upper()
    if not number:
        return _rejected(IdReason.REQUIRED)

    errors = []
    if len(number) not in (15, 18):
        errors.append(IdReason.LENGTH)
    if not _has_valid_characters(number):
        errors.append(IdReason.CHARACTERS)
    if errors:
        return _rejected(*errors)

    warnings = []
    if len(number) == 15:
        # Legacy numbers carry a two-digit year of the 1900s and no check character.
        first17 = number[:6] + "19" + number[6:]
        number = first17 + check_char(first17)
        warnings.append(IdReason.UPGRADED_FROM_15)

    birth = _birth_date(number)
    if birth is None or birth > (today or datetime.now(_CHINA_TZ).date()):
        errors.append(IdReason.BIRTH_DATE)
    if number[17] != check_char(number[:17]):
        errors.append(IdReason.CHECK_DIGIT)
    if not _is_known_area(number[:6], birth.year if birth else None):
        warnings.append(IdReason.UNKNOWN_AREA)

    if errors:
        return IdNumberCheck(ok=False, normalized=None, errors=errors, warnings=warnings)
    return IdNumberCheck(ok=True, normalized=number, warnings=warnings)


def make_synthetic_id_number(area: str, birth: date, serial: int) -> str:
    """A valid 18-character number for clearly synthetic demo and test data.

    Use an area code that does not exist (e.g. "990000") when the data must never be
    mistaken for a real person's number.
    """
    if len(area) != 6 or not _DIGITS.fullmatch(area):
        raise ValueError("area must be 6 ASCII digits")
    if not 0 <= serial <= 999:
        raise ValueError("serial must be between 0 and 999")
    first17 = f"{area}{birth:%Y%m%d}{serial:03d}"
    return first17 + check_char(first17)


def _rejected(*errors: str) -> IdNumberCheck:
    return IdNumberCheck(ok=False, normalized=None, errors=list(errors))


def _has_valid_characters(number: str) -> bool:
    # Only the last character of an 18-character number may be X.
    return bool((_DIGITS_THEN_X if len(number) == 18 else _DIGITS).fullmatch(number))


def _birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


@cache
def _area_database() -> numdb.NumDB:
    return numdb.get("cn/loc")


def _is_known_area(area: str, birth_year: int | None) -> bool:
    """Whether stdnum's table of area codes lists `area` as still in use in `birth_year`.

    A number gets the code in use where it was first issued, at birth or years later,
    so a code introduced after the birth year is fine; one abolished before it is not.
    (stdnum's `ric.get_birth_place` checks both ends and raises KeyError for codes
    that only match a province, so the lookup is done here.)
    """
    counties = ""
    for _prefix, properties in _area_database().info(area):
        counties = properties.get("county", counties)
    # Entries look like "<name>" or "[-1991]<old name>,[1992-]<new name>" (years in use).
    for county in filter(None, counties.split(",")):
        end = county[1:].partition("]")[0].partition("-")[2] if county.startswith("[") else ""
        if not end or birth_year is None or birth_year <= int(end):
            return True
    return False
