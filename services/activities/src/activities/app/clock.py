"""The service's clock: real time, unless an operator set it (only when the setting allows), so
tests of windows and periods move time instead of waiting for it."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    def __init__(self, *, controllable: bool = False) -> None:
        self.controllable = controllable
        self._fixed: datetime | None = None

    def now(self) -> datetime:
        return self._fixed if self._fixed is not None else datetime.now(UTC)

    def set(self, now: datetime | None) -> None:
        """Fix the time (None: back to real time). Refused unless the clock is controllable."""
        if not self.controllable:
            raise PermissionError("the clock is not controllable in this process")
        self._fixed = now.astimezone(UTC) if now is not None else None
