"""Validation and normalisation of mainland China mobile numbers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# 11 digits starting 13-19; an optional country code +86, 86 or 0086 in front.
_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")
_SEPARATORS = re.compile(r"[\s\-]+")


class PhoneReason:
    """Reason codes in `PhoneCheck.errors`."""

    REQUIRED = "required"
    FORMAT = "format"


@dataclass(frozen=True)
class PhoneCheck:
    """Outcome of `validate_phone`; `normalized` is the bare 11 digits, set only when `ok`."""

    ok: bool
    normalized: str | None
    errors: list[str] = field(default_factory=list)


def validate_phone(raw: str) -> PhoneCheck:
    """Check a mobile number as typed, e.g. "+86 138-1234-5678"; never raises for bad input."""
    # NFKC turns the full-width digits and + of Chinese input methods into ASCII.
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if not compact:
        return PhoneCheck(ok=False, normalized=None, errors=[PhoneReason.REQUIRED])
    match = _MOBILE.fullmatch(compact)
    if match is None:
        return PhoneCheck(ok=False, normalized=None, errors=[PhoneReason.FORMAT])
    return PhoneCheck(ok=True, normalized=match.group(1))
