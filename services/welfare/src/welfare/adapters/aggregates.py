"""Writing the welfare aggregates (needs, stations, campaigns) with their events through the outbox.

A command reads the aggregate by id, decides (domain rules may refuse), and writes the change with
its events in one single-document update at the version it read; a concurrent writer makes it
read and decide again. Commands on one aggregate take turns within a process, so a burst of them
(a campaign day's visits, a queue at a station) costs one read and one write each instead of
every loser retrying; the version check still guards against other processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from roadbranch_shared.documents import DocumentLocks
from roadbranch_shared.events import EventPayload, source_of
from roadbranch_shared.outbox import insert_aggregate, retry_on_conflict, stage_events, update_aggregate

from welfare.domain.errors import WelfareError

SOURCE = source_of("welfare")
Document = dict[str, Any]
Decision = tuple[dict[str, Any], Sequence[EventPayload]]
# Not shared.documents' own locks: update_if takes those for the write inside a turn.
_turns = DocumentLocks()


@dataclass
class Changed:
    before: Document
    after: Document
    events: Sequence[EventPayload]


async def create(
    collection: AsyncCollection[Document], document: Document, events: Sequence[EventPayload]
) -> None:
    staged = stage_events(events, source=SOURCE, subject=str(document["_id"]), from_version=0)
    await insert_aggregate(collection, document, staged)


async def change(
    collection: AsyncCollection[Document],
    aggregate_id: str,
    decide: Callable[[Document], Decision],
    *,
    missing: WelfareError,
    tries: int = 20,
) -> Changed:
    """Apply `decide(current)`'s update and events; `missing` is raised if there is no such aggregate."""

    async def once() -> tuple[Document, Sequence[EventPayload]]:
        current = await collection.find_one({"_id": aggregate_id})
        if current is None:
            raise missing
        update, payloads = decide(current)
        staged = stage_events(payloads, source=SOURCE, subject=aggregate_id, from_version=current["version"])
        await update_aggregate(
            collection, aggregate_id, expected_version=current["version"], update=update, events=staged
        )
        return current, payloads

    async with _turns.hold(collection.full_name, aggregate_id):
        before, payloads = await retry_on_conflict(once, tries=tries)
    after = await collection.find_one({"_id": aggregate_id})
    assert after is not None
    return Changed(before, after, payloads)
