"""Reading an uploaded driver list (CSV or XLSX) into numbered rows of text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from openpyxl import load_workbook

MAX_ROWS = 200_000


class UnreadableFile(ValueError):
    """The upload is not a table we can read; `reason` is a machine-readable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class Table:
    headings: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as the spreadsheet shows it, cells)
    blank_rows: int


def read_table(filename: str, content: bytes) -> Table:
    name = filename.lower()
    if name.endswith(".csv"):
        lines = _csv_rows(content)
    elif name.endswith(".xlsx"):
        lines = _xlsx_rows(content)
    else:
        raise UnreadableFile("unsupported_type", "只支持 CSV 或 XLSX 文件")
    headings: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    blank = 0
    for number, cells in lines:
        if not any(c.strip() for c in cells):
            if headings is not None:
                blank += 1
            continue
        if headings is None:
            headings = cells
            continue
        rows.append((number, cells))
        if len(rows) > MAX_ROWS:
            raise UnreadableFile("too_many_rows", f"一次最多导入 {MAX_ROWS} 行，请分批导入")
    if headings is None:
        raise UnreadableFile("empty", "文件是空的")
    return Table(headings, rows, blank)


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    # Excel saves Chinese CSV as GB18030/GBK unless told otherwise; UTF-8 (with BOM) is tried first.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile("encoding", "无法识别文件编码，请另存为 UTF-8 编码的 CSV")
    yield from enumerate(csv.reader(io.StringIO(text, newline="")), start=1)


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises several types for a file that is not a workbook
        raise UnreadableFile("not_xlsx", "文件不是有效的 XLSX 工作簿") from e
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed into a cell, e.g. a phone number
    return str(value)
