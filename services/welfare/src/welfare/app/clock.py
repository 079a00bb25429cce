"""The service's clock: real time, or real time moved by an operator when `clock_control` is on.

Response-time targets and escalations are about hours and days; tests and demos move this clock
instead of waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, *, controllable: bool = False) -> None:
        self.controllable = controllable
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set(self, moment: datetime) -> datetime:
        """Move the clock so that now is `moment` (it keeps running from there)."""
        if not self.controllable:
            raise PermissionError("clock control is off")
        self.offset = moment - datetime.now(UTC)
        return self.now()

    def advance(self, seconds: float) -> datetime:
        if not self.controllable:
            raise PermissionError("clock control is off")
        self.offset += timedelta(seconds=seconds)
        return self.now()
