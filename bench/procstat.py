"""CPU time of the processes under test, read from /proc, to show which one a benchmark kept busy."""

from __future__ import annotations

import os
import resource
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float | None:
    """User plus system CPU seconds of `pid` so far (None if unknown); this process via getrusage."""
    if pid is None:
        return None
    if pid == os.getpid():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return None
    # Fields 14 and 15 of /proc/<pid>/stat (utime, stime), counted after the ")" that ends the name.
    return (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter:
    """CPU seconds each named process used between `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self._start: dict[str, float | None] = {}

    def start(self) -> None:
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, float | None]:
        used: dict[str, float | None] = {}
        for name, pid in self.pids.items():
            before, after = self._start.get(name), cpu_seconds(pid)
            used[name] = round(after - before, 2) if before is not None and after is not None else None
        return used
