"""Background jobs that run every so often for the life of a service process (scans, recounts)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


async def run_periodically(
    job: Callable[[], Awaitable[Any]], every: float, *, name: str, first_after: float | None = None
) -> None:
    """Run `job` every `every` seconds (first after `first_after`, default `every`). A failed run is
    logged and the next one goes ahead: a database outage must not end the job for good."""
    await asyncio.sleep(every if first_after is None else first_after)
    while True:
        try:
            await job()
        except Exception:
            log.exception("%s failed; it runs again in %.0f s", name, every)
        await asyncio.sleep(every)


def start_periodically(
    job: Callable[[], Awaitable[Any]], every: float, *, name: str, first_after: float | None = None
) -> asyncio.Task[None]:
    return asyncio.create_task(run_periodically(job, every, name=name, first_after=first_after), name=name)
