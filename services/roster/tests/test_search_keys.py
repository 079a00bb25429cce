"""What a typed search value becomes before it is matched, and the files staff download (no servers)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from roadbranch_shared.pii import make_synthetic_id_number
from roster.adapters.tables import XlsxSheet, csv_with_bom, read_table
from roster.app.imports import check_table
from roster.domain.drivers import TEMPLATE_HEADINGS, check_row, name_key
from roster.domain.errors import RosterError
from roster.domain.search import SearchKey, search_key

GOOD_ID = make_synthetic_id_number("513436", date(1985, 6, 1), 101)
WITH_X = next(
    n for s in range(100, 200) if (n := make_synthetic_id_number("513436", date(1985, 6, 2), s)).endswith("X")
)


@pytest.mark.parametrize(
    ("by", "typed", "stored"),
    [
        ("phone", "+86 139-1234-5678", "13912345678"),
        ("phone", "１３９１２３４５６７８", "13912345678"),
        ("id_number", WITH_X.lower(), WITH_X),
        ("name", " 阿地  惹口　", "阿地惹口"),
        ("plate", " 川w 12345 ", "川W12345"),
    ],
    ids=["phone-with-country-code", "full-width-phone", "lower-case-x", "spaced-name", "spaced-plate"],
)
def test_a_typed_value_is_normalised_as_the_import_stores_it(by: str, typed: str, stored: str) -> None:
    assert search_key(by, typed) == SearchKey(by, stored)


def test_a_name_is_searched_as_it_was_indexed_on_import() -> None:
    row = check_row(2, {"name": "阿地 惹口", "id_number": GOOD_ID, "phone": "13912345678"})
    assert not isinstance(row, list)
    assert name_key(row.name) == search_key("name", "阿地惹口").value


@pytest.mark.parametrize(
    ("by", "typed", "field", "reason"),
    [
        ("phone", "1391234", "value", "format"),
        ("id_number", GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1"), "value", "check_digit"),
        ("id_number", "5134361985", "value", "length"),
        ("name", "  ", "value", "required"),
        ("name", "名" * 101, "value", "too_long"),
        ("plate", "ABC123", "value", "plate_format"),
        ("wechat", "lazhe", "by", "unknown_key"),
    ],
)
def test_a_value_that_cannot_match_is_refused_naming_the_field(
    by: str, typed: str, field: str, reason: str
) -> None:
    with pytest.raises(RosterError) as refused:
        search_key(by, typed)
    assert (refused.value.field, refused.value.reason, refused.value.status) == (field, reason, "invalid")
    assert not typed.strip() or typed.strip() not in refused.value.message, "the value is not echoed"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_template_reads_back_as_a_table_with_every_column(kind: str) -> None:
    if kind == "csv":
        content = csv_with_bom(TEMPLATE_HEADINGS)
    else:
        with XlsxSheet("司机摸底名单", TEMPLATE_HEADINGS).save() as saved:
            content = saved.read()
    table = read_table(f"template.{kind}", content)
    assert table.headings == list(TEMPLATE_HEADINGS)
    assert table.rows == []
    checked = check_table(table)
    assert not isinstance(checked, list), "no required column is missing"


def test_a_sheet_keeps_a_formula_looking_value_as_text() -> None:
    sheet = XlsxSheet("登记册", ["所在企业或平台"])
    sheet.append(["=1+1"])
    with sheet.save() as saved:
        [_, [cell]] = list(load_workbook(io.BytesIO(saved.read())).worksheets[0].iter_rows())
    assert (cell.value, cell.data_type) == ("=1+1", "s")
