"""A periodic job keeps running after a failed run."""

import asyncio

from roadbranch_shared.periodic import start_periodically


async def test_a_failed_run_does_not_end_the_job() -> None:
    calls = 0
    ran_again = asyncio.Event()

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database away")
        ran_again.set()

    task = start_periodically(flaky, 0.01, name="test job", first_after=0)
    try:
        await asyncio.wait_for(ran_again.wait(), timeout=5)
        assert not task.done()
    finally:
        task.cancel()
