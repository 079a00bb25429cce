"""Serialised single-document writes: FerretDB v1 applies an update as read-then-replace, not atomically.

Every write our helpers make to one document (a command's change, the relay's pull, a consumer's
apply) takes this per-document lock, so two writers in one process can never lose each other's
update. On MongoDB a single-document update is atomic anyway; with FerretDB run one process per
service (see the README's design notes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class DocumentLocks:
    def __init__(self) -> None:
        self._locks: dict[tuple[str, Any], asyncio.Lock] = {}
        self._users: dict[tuple[str, Any], int] = {}

    @asynccontextmanager
    async def hold(self, collection: str, doc_id: Any) -> AsyncIterator[None]:
        key = (collection, doc_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]


# One set of locks per process: the locks guard documents, which every task in the process shares.
document_locks = DocumentLocks()
