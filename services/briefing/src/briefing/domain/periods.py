"""Reporting periods: a month, a quarter, a year, an explicit range of days, or everything so far.

A period is half-open, [start, end), in the county's local time (China Standard Time): a lesson held at
23:30 on 31 March in Meigu belongs to March, whatever UTC says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

LOCAL = timezone(timedelta(hours=8), "CST")
_BEGINNING = date(2000, 1, 1)
_FOREVER = date(2100, 1, 1)


class PeriodError(ValueError):
    """A period the API cannot read; the message says what forms it accepts."""


@dataclass(frozen=True)
class Period:
    label: str
    start: date  # first day, inclusive
    end: date  # day after the last, exclusive

    def contains(self, moment: datetime | date | None) -> bool:
        if moment is None:
            return False
        day = moment.astimezone(LOCAL).date() if isinstance(moment, datetime) else moment
        return self.start <= day < self.end

    def reached_by(self, moment: datetime | date | None) -> bool:
        """True if `moment` is before the period's end: state figures (who is on a committee) count
        everything that happened up to the end of the period."""
        if moment is None:
            return False
        day = moment.astimezone(LOCAL).date() if isinstance(moment, datetime) else moment
        return day < self.end

    @property
    def title(self) -> str:
        """The period as a Chinese heading says it."""
        if self.label == "all":
            return "试点以来"
        if m := re.fullmatch(r"(\d{4})-(\d{2})", self.label):
            return f"{m[1]}年{int(m[2])}月"
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", self.label):
            return f"{m[1]}年第{'一二三四'[int(m[2]) - 1]}季度"
        if re.fullmatch(r"\d{4}", self.label):
            return f"{self.label}年"
        last = self.end - timedelta(days=1)
        return f"{self.start:%Y年%m月%d日}至{last:%Y年%m月%d日}"


def parse_period(text: str) -> Period:
    """`all`, `2026`, `2026-Q3`, `2026-07` or `2026-07-01..2026-09-30` (both days included)."""
    text = text.strip()
    if text == "all":
        return Period("all", _BEGINNING, _FOREVER)
    if re.fullmatch(r"\d{4}", text):
        year = _year(int(text), text)
        return Period(text, date(year, 1, 1), date(year + 1, 1, 1))
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, quarter = _year(int(m[1]), text), int(m[2])
        start = date(year, 3 * quarter - 2, 1)
        return Period(text, start, _add_months(start, 3))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        month = int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"{text}：没有这个月份")
        start = date(_year(int(m[1]), text), month, 1)
        return Period(text, start, _add_months(start, 1))
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", text):
        try:
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        except ValueError as exc:
            raise PeriodError(f"{text}：日期无效") from exc
        if last < first:
            raise PeriodError(f"{text}：结束日期早于开始日期")
        _year(first.year, text)
        _year(last.year, text)
        return Period(text, first, last + timedelta(days=1))
    raise PeriodError("期间应为 all、YYYY、YYYY-Qn、YYYY-MM 或 YYYY-MM-DD..YYYY-MM-DD")


def _year(year: int, text: str) -> int:
    """A year the figures can cover: from the beginning of records to before their end."""
    if not _BEGINNING.year <= year < _FOREVER.year:
        raise PeriodError(f"{text}：年份应在{_BEGINNING.year}至{_FOREVER.year - 1}年之间")
    return year


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def now_utc() -> datetime:
    return datetime.now(UTC)
