"""Tables as files: reading an uploaded driver list (CSV or XLSX) into numbered rows of text, and
writing the files staff download (the import template, the register)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

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


def csv_with_bom(headings: Sequence[str]) -> bytes:
    """A one-line CSV; the UTF-8 byte-order mark makes Excel open the Chinese headings correctly."""
    out = io.StringIO(newline="")
    csv.writer(out).writerow(headings)
    return ("\ufeff" + out.getvalue()).encode()


class XlsxSheet:
    """A one-sheet workbook written row by row (openpyxl's write-only mode: memory stays flat however
    many rows) into a temporary file. Every cell is text: a cell such as "=HYPERLINK(...)" that came
    in with an imported list must not turn into a formula in a file staff open."""

    SPOOL_BYTES = 8 * 1024 * 1024

    def __init__(self, title: str, headings: Sequence[str], *, text_columns: Iterable[int] = ()) -> None:
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title)
        for index in range(len(headings)):
            self._sheet.column_dimensions[get_column_letter(index + 1)].width = 18
        # Excel shows an 18-digit number typed into a General cell as 5.13436E+17 and drops digits.
        for index in text_columns:
            self._sheet.column_dimensions[get_column_letter(index + 1)].number_format = "@"
        self._bold = Font(bold=True)
        self.append(headings, bold=True)

    def append(self, values: Sequence[str], *, bold: bool = False) -> None:
        cells = []
        for value in values:
            cell = WriteOnlyCell(self._sheet, value=value)
            cell.data_type = "s"
            if bold:
                cell.font = self._bold
            cells.append(cell)
        self._sheet.append(cells)

    def save(self) -> IO[bytes]:
        """The finished workbook, read from its start; the caller closes it."""
        out = tempfile.SpooledTemporaryFile(max_size=self.SPOOL_BYTES)  # noqa: SIM115 (the caller's)
        self._book.save(out)
        out.seek(0)
        return out
