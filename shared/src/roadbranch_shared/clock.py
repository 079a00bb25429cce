"""A service's clock: real time, unless an operator moved it where the setting allows (tests and
demos move time instead of waiting for windows, periods and escalations)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class TimeSource(Protocol):
    """What the code that only asks the time needs; a test may pass a fixed clock."""

    def now(self) -> datetime: ...


class Clock:
    """Real time plus an offset an operator may set (time keeps running from the moment set), or,
    with `runs=False`, held at the moment set until it is set again (None: real time again).

    Setting or advancing it is refused unless the clock is `controllable`.
    """

    def __init__(self, *, controllable: bool = False, runs: bool = True) -> None:
        self.controllable = controllable
        self.runs = runs
        self.offset = timedelta(0)
        self._held: datetime | None = None

    def now(self) -> datetime:
        return self._held if self._held is not None else datetime.now(UTC) + self.offset

    def set(self, moment: datetime | None) -> datetime:
        """Make `moment` the time now (None: back to real time); answers the new now."""
        self._may_move()
        self.offset, self._held = timedelta(0), None
        if moment is not None and self.runs:
            self.offset = moment - datetime.now(UTC)
        elif moment is not None:
            self._held = moment.astimezone(UTC)
        return self.now()

    def advance(self, seconds: float) -> datetime:
        """Move the clock `seconds` forward; answers the new now."""
        self._may_move()
        if self._held is not None:
            self._held += timedelta(seconds=seconds)
        else:
            self.offset += timedelta(seconds=seconds)
        return self.now()

    def _may_move(self) -> None:
        if not self.controllable:
            raise PermissionError("the clock is not controllable in this process")
