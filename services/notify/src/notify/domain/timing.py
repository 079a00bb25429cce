"""Time rules of delivery: quiet hours, the local day of the daily cap, reminder times and backoff."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


class QuietHours:
    """A nightly window (e.g. 22:00–07:00 local time) in which non-urgent messages wait for morning."""

    def __init__(self, start: time, end: time, zone: str) -> None:
        self.start = start
        self.end = end
        self.zone = ZoneInfo(zone)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def local_day(self, moment: datetime) -> date:
        return self.local(moment).date()

    def covers(self, moment: datetime) -> bool:
        now = self.local(moment).time()
        if self.start == self.end:
            return False  # an empty window: no quiet hours
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def next_end(self, moment: datetime) -> datetime:
        """The first end of the window strictly after `moment` (the next morning, for a nightly window)."""
        local = self.local(moment)
        candidate = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.zone)
        return candidate

    def release(self, moment: datetime) -> datetime:
        """When a non-urgent message due at `moment` may go: at once, or when the window ends."""
        return self.next_end(moment) if self.covers(moment) else moment


class QuietMode:
    """What a driver chose for his quiet hours (roster.contact.v1)."""

    COUNTY = "county"  # the county's window (also: never chose, or a mode this notify does not know)
    OWN = "own"  # his own window, local time
    OFF = "off"  # none: non-urgent messages go at any hour


def own_quiet_hours(county: QuietHours, choice: Mapping[str, Any] | None) -> QuietHours:
    """The quiet hours that hold for one recipient: his own window, none, or the county's. A
    window that does not parse falls back to the county's: a doubt keeps the night quiet."""
    mode = (choice or {}).get("mode")
    if mode == QuietMode.OFF:
        return QuietHours(time(0), time(0), county.zone.key)  # an empty window
    if mode == QuietMode.OWN:
        try:
            start = time.fromisoformat(str((choice or {})["start"]))
            end = time.fromisoformat(str((choice or {})["end"]))
        except (KeyError, ValueError):
            return county
        return QuietHours(start, end, county.zone.key)
    return county


def reminder_times(starts_at: datetime, offsets_minutes: list[int]) -> list[tuple[int, datetime]]:
    """(offset, when) of each reminder before a meeting, earliest first."""
    return sorted(
        ((offset, starts_at - timedelta(minutes=offset)) for offset in set(offsets_minutes)),
        key=lambda pair: pair[1],
    )


def backoff(attempt: int, base_seconds: float, max_seconds: float) -> timedelta:
    """Exponential backoff after the `attempt`-th failed try (1 → base, 2 → 2×base, …), capped."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempt - 1, 0), max_seconds))
