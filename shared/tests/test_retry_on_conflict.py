"""Optimistic concurrency: a command reloads and runs again after a conflict, a bounded number of times."""

import pytest
from roadbranch_shared.outbox import ConcurrencyConflict, retry_on_conflict


async def test_a_command_runs_again_after_conflicts_and_returns_its_result() -> None:
    runs = 0

    async def command() -> str:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise ConcurrencyConflict("members", "mem_1", runs)
        return "done"

    assert await retry_on_conflict(command) == "done"
    assert runs == 3


async def test_endless_conflicts_end_with_the_last_conflict() -> None:
    async def command() -> None:
        raise ConcurrencyConflict("members", "mem_1", 7)

    with pytest.raises(ConcurrencyConflict):
        await retry_on_conflict(command, tries=4)
