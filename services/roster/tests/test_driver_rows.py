"""Checking driver-list rows and reading CSV/XLSX uploads (no servers)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook
from roadbranch_shared.pii import make_synthetic_id_number
from roster.adapters.tables import UnreadableFile, read_table
from roster.app.imports import CheckedTable, check_table
from roster.domain.drivers import DriverRow, check_row, header_map, missing_columns

GOOD_ID = make_synthetic_id_number("513436", date(1985, 6, 1), 101)
BAD_CHECK = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")


def row(**values: str) -> dict[str, str]:
    return {"name": "阿地惹口", "id_number": GOOD_ID, "phone": "13912345678", **values}


def test_a_good_row_is_normalised() -> None:
    checked = check_row(2, row(id_number=GOOD_ID.lower(), phone="+86 139-1234-5678", plate="川w12345"))
    assert isinstance(checked, DriverRow)
    assert checked.id_number == GOOD_ID.upper()
    assert checked.phone == "13912345678"
    assert checked.plate == "川W12345"


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"name": ""}, "name", "required"),
        ({"id_number": ""}, "id_number", "required"),
        ({"id_number": BAD_CHECK}, "id_number", "check_digit"),
        ({"id_number": "51343619850231101X"}, "id_number", "birth_date"),
        ({"id_number": "5134361985"}, "id_number", "length"),
        ({"phone": "12345"}, "phone", "format"),
        ({"plate": "ABC"}, "plate", "plate_format"),
        ({"employer": "某" * 101}, "employer", "too_long"),
        ({"name": "吉\x07拉哈"}, "name", "control_characters"),
        ({"employer": "美姑\n货运"}, "employer", "control_characters"),
        ({"name": "阿地\u0085惹口"}, "name", "control_characters"),
    ],
)
def test_a_bad_row_names_the_field_and_reason(values: dict[str, str], field: str, reason: str) -> None:
    problems = check_row(7, row(**values))
    assert isinstance(problems, list)
    assert (7, field, reason) in [(p.row, p.field, p.reason) for p in problems]
    assert all(p.message for p in problems)


def test_headings_in_chinese_or_english_are_recognised_and_missing_ones_named() -> None:
    mapping = header_map(["序号", "姓名", "身份证号码", "手机号", "户籍", "车牌号", "所在企业或平台"])
    assert set(mapping.values()) == {
        "name",
        "id_number",
        "phone",
        "household_registration",
        "plate",
        "employer",
    }
    assert missing_columns(header_map(["name", "phone"])) == ["id_number"]


def csv_bytes(lines: list[str], encoding: str = "utf-8-sig") -> bytes:
    return "\n".join(lines).encode(encoding)


def test_csv_in_utf8_or_gb18030_and_blank_lines_counted() -> None:
    lines = ["姓名,身份证号,手机号", f"拉者,{GOOD_ID},13912345678", ",,", f"惹哈,{BAD_CHECK},13912345679"]
    for encoding in ("utf-8-sig", "gb18030"):
        table = read_table("list.csv", csv_bytes(lines, encoding))
        assert table.headings == ["姓名", "身份证号", "手机号"]
        assert [n for n, _ in table.rows] == [2, 4]
        assert table.blank_rows == 1


def test_xlsx_rows_keep_their_sheet_row_numbers() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "手机号"])
    sheet.append(["拉者", GOOD_ID, 13912345678])  # a phone typed as a number
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table("list.xlsx", buffer.getvalue())
    assert table.rows == [(2, ["拉者", GOOD_ID, "13912345678"])]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("list.pdf", b"%PDF", "unsupported_type"),
        ("list.xlsx", b"not a workbook", "not_xlsx"),
        ("list.csv", b"", "empty"),
    ],
)
def test_unreadable_uploads_are_refused_with_a_reason(name: str, content: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFile) as refused:
        read_table(name, content)
    assert refused.value.reason == reason


def test_a_repeated_id_number_in_one_file_is_reported_not_dropped() -> None:
    table = read_table(
        "l.csv", csv_bytes(["姓名,身份证号,手机号", f"甲,{GOOD_ID},13912345678", f"乙,{GOOD_ID},13912345679"])
    )
    checked = check_table(table)
    assert isinstance(checked, CheckedTable)
    assert len(checked.rows) == 1
    assert [(p.row, p.field, p.reason) for p in checked.problems] == [(3, "id_number", "duplicate_in_file")]
