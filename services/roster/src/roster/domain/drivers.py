"""Driver-list rows (摸底排查名单): the columns staff import and how each row is checked.

A row is either a valid `DriverRow` or a list of `RowProblem`s naming the field and a reason code;
problems never repeat the rejected value, which may be personal data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from roadbranch_shared.pii import validate_id_number, validate_phone
from roadbranch_shared.plain_text import CONTROL_OR_BREAK


class DriverSource:
    """Where a list came from (the three fields of 摸底排查 in the briefing)."""

    FREIGHT_COMPANY = "freight_company"  # 传统道路货运企业
    FREIGHT_PLATFORM = "freight_platform"  # 互联网货运平台企业
    INDIVIDUAL = "individual"  # 个体货车司机
    ALL = (FREIGHT_COMPANY, FREIGHT_PLATFORM, INDIVIDUAL)
    LABELS: ClassVar[dict[str, str]] = {
        FREIGHT_COMPANY: "传统道路货运企业",
        FREIGHT_PLATFORM: "互联网货运平台企业",
        INDIVIDUAL: "个体货车司机",
    }


# Column headings staff use, in Chinese or English, mapped to our field names.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "id_number", "id number"),
    "phone": ("手机号", "手机号码", "联系电话", "电话", "phone"),
    "household_registration": ("户籍", "户籍地", "household_registration", "hukou"),
    "location": ("工作或居住地", "工作（生活）地", "工作生活地", "居住地", "location"),
    "plate": ("车牌号", "车牌号码", "plate", "vehicle_plate"),
    "employer": ("所在企业或平台", "单位或平台", "企业名称", "平台名称", "employer"),
}
REQUIRED = ("name", "id_number", "phone")
# The heading the import template shows for each column: the first (Chinese) name the import knows.
TEMPLATE_HEADINGS = tuple(aliases[0] for aliases in COLUMNS.values())


class RowReason:
    """Reason codes of a rejected row (the ID number's own codes come from `IdReason`)."""

    REQUIRED = "required"
    TOO_LONG = "too_long"
    PLATE_FORMAT = "plate_format"
    DUPLICATE_IN_FILE = "duplicate_in_file"
    CONTROL_CHARACTERS = "control_characters"


MESSAGES = {
    "required": "必填项为空",
    "control_characters": "含有换行、制表符或其他不可见的控制字符",
    "length": "身份证号位数不对（应为18位）",
    "characters": "身份证号含有非法字符",
    "birth_date": "身份证号中的出生日期无效",
    "check_digit": "身份证号校验位不正确",
    "format": "手机号格式不正确（应为11位大陆手机号）",
    "too_long": "内容过长",
    "plate_format": "车牌号格式不正确",
    "duplicate_in_file": "与本文件中前面一行的身份证号重复",
    "unknown_status": "党员状态须为“正式党员”或“预备党员”",
}

MAX_TEXT = 100
# Province abbreviation, issuing-office letter, then 5 (ordinary) or 6 (new-energy) characters.
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]"
)


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    reason: str

    @property
    def message(self) -> str:
        return MESSAGES.get(self.reason, self.reason)

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "field": self.field, "reason": self.reason, "message": self.message}


@dataclass(frozen=True)
class DriverRow:
    """One valid row, normalised: the ID number upper-case 18 characters, the phone 11 digits."""

    row: int
    name: str
    id_number: str
    phone: str
    household_registration: str = ""
    location: str = ""
    plate: str = ""
    employer: str = ""


def header_map(headings: list[str]) -> dict[int, str]:
    """Column index -> field name for the driver-list headings we know."""
    return header_map_for(COLUMNS, headings)


def header_map_for(columns: Mapping[str, tuple[str, ...]], headings: list[str]) -> dict[int, str]:
    """Column index -> field name for the headings we know; unknown columns are ignored."""
    known = {alias.casefold(): field for field, aliases in columns.items() for alias in aliases}
    mapping: dict[int, str] = {}
    for index, heading in enumerate(headings):
        field = known.get(clean_text(heading).casefold())
        if field is not None and field not in mapping.values():
            mapping[index] = field
    return mapping


def missing_columns(mapping: dict[int, str]) -> list[str]:
    return missing_columns_for(REQUIRED, mapping)


def missing_columns_for(required: tuple[str, ...], mapping: dict[int, str]) -> list[str]:
    return [field for field in required if field not in mapping.values()]


def check_row(row: int, values: Mapping[str, str]) -> DriverRow | list[RowProblem]:
    """Validate one row's values (by field name); `row` is its number as the spreadsheet shows it."""
    cleaned = {field: clean_text(values.get(field, "")) for field in COLUMNS}
    problems = [RowProblem(row, field, RowReason.REQUIRED) for field in REQUIRED if not cleaned[field]]
    problems += [
        RowProblem(row, field, RowReason.TOO_LONG)
        for field, value in cleaned.items()
        if field not in ("id_number", "phone") and len(value) > MAX_TEXT
    ]
    # A cell is one line of text: a control character would print as nothing in the briefing.
    problems += [
        RowProblem(row, field, RowReason.CONTROL_CHARACTERS)
        for field, value in cleaned.items()
        if CONTROL_OR_BREAK.search(value)
    ]
    id_number = phone = None
    if cleaned["id_number"]:
        id_check = validate_id_number(cleaned["id_number"])
        problems += [RowProblem(row, "id_number", reason) for reason in id_check.errors]
        id_number = id_check.normalized
    if cleaned["phone"]:
        phone_check = validate_phone(cleaned["phone"])
        problems += [RowProblem(row, "phone", reason) for reason in phone_check.errors]
        phone = phone_check.normalized
    plate = cleaned["plate"].upper()
    if plate and not is_plate(plate):
        problems.append(RowProblem(row, "plate", RowReason.PLATE_FORMAT))
    if problems or id_number is None or phone is None:
        return problems
    return DriverRow(
        row=row,
        name=cleaned["name"],
        id_number=id_number,
        phone=phone,
        household_registration=cleaned["household_registration"],
        location=cleaned["location"],
        plate=plate,
        employer=cleaned["employer"],
    )


def is_plate(plate: str) -> bool:
    """Whether an upper-case plate number has the form of a mainland plate."""
    return _PLATE.fullmatch(plate) is not None


def name_key(name: str) -> str:
    """A name as its blind index sees it: cell text with every space removed (lists often pad a
    two-character name to "张  三")."""
    return "".join(clean_text(name).split())


def clean_text(value: object) -> str:
    """Cell text as typed: full-width characters folded (NFKC), surrounding space removed."""
    text = "" if value is None else str(value)
    return unicodedata.normalize("NFKC", text).strip()
