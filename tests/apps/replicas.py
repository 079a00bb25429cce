"""Two replicas of a service, and calls through them while one of them is killed: the shared parts
of the several-replica tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from roadbranch_shared.devstack.services import ServiceProcess, start_all


@contextmanager
def with_a_replica(first: ServiceProcess, log: Path) -> Iterator[ServiceProcess]:
    """`first` and a second process of the same service (the same app, settings, database,
    consumer group and tokens), started together so both join each consumer group at once instead
    of one rebalance after another; both stopped after."""
    second = ServiceProcess(first.app, env=dict(first.env), log=log)
    try:
        start_all([first, second])
        yield second
    finally:
        second.stop()
        first.stop()


# (path, JSON body, headers) of one POST.
Call = tuple[str, dict[str, Any], dict[str, str]]


async def post_through_a_crash(
    survivor: str,
    victim: ServiceProcess,
    calls: list[Call],
    *,
    kill_after: int,
    landed: Callable[[httpx.Response], bool],
) -> tuple[list[httpx.Response], int]:
    """Each call POSTed to the two replicas in turn (the `survivor`'s URL, then the `victim`'s),
    four at a time; once `kill_after` have been answered the victim is killed with SIGKILL. A call
    that got no answer (the connection reset or refused) is sent again, the same, to the survivor,
    as a phone with bad signal would, and one refused as retryable (the killed replica's claim on
    its Idempotency-Key has not run out yet) again after a pause, as the driver app does. Every
    answer must be `landed`. The answers, one a call, in order, and how many were sent again."""
    urls = [survivor, victim.url]
    answered = retried = 0
    limit = asyncio.Semaphore(4)

    async def one(n: int, call: Call, client: httpx.AsyncClient) -> httpx.Response:
        nonlocal answered, retried
        path, body, headers = call
        async with limit:
            url = urls[n % 2]
            while True:
                try:
                    answer = await client.post(url + path, json=body, headers=headers)
                except httpx.TransportError:
                    url, retried = survivor, retried + 1
                    continue
                if answer.status_code == 409 and answer.json()["error"].get("retryable"):
                    retried += 1
                    await asyncio.sleep(0.5)
                    continue
                answered += 1
                if answered == kill_after:
                    victim.kill()
                assert landed(answer), answer.text
                return answer

    async with httpx.AsyncClient(timeout=60) as client:
        answers = await asyncio.gather(*(one(n, call, client) for n, call in enumerate(calls)))
    return list(answers), retried
