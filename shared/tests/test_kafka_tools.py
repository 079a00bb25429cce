"""Unit tests of kafka_tools with a stand-in admin client (the real Kafka path is in
test_reading_from.py): asking a fresh broker for a group's offsets is tried again while it has no
coordinator yet, and only then."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.errors import GroupAuthorizationFailedError, GroupCoordinatorNotAvailableError
from roadbranch_shared.kafka_tools import _committed_offsets


class Admin:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.asked = 0

    async def list_consumer_group_offsets(self, group: str) -> dict[str, int]:
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)


async def test_offsets_are_asked_again_until_the_coordinator_is_there() -> None:
    admin = Admin(GroupCoordinatorNotAvailableError(), GroupCoordinatorNotAvailableError(), {"t": 3})
    assert await _committed_offsets(admin, "g") == {"t": 3}
    assert admin.asked == 3


async def test_an_error_that_is_not_retriable_is_raised_at_once() -> None:
    admin = Admin(GroupAuthorizationFailedError(), {"t": 3})
    with pytest.raises(GroupAuthorizationFailedError):
        await _committed_offsets(admin, "g")
    assert admin.asked == 1


async def test_a_coordinator_that_never_comes_ends_in_its_error() -> None:
    admin = Admin(*[GroupCoordinatorNotAvailableError()] * 100)
    with pytest.raises(GroupCoordinatorNotAvailableError):
        await _committed_offsets(admin, "g", within=0.3)
    assert 1 < admin.asked < 100
