"""Writing the welfare aggregates (needs, stations, campaigns) with their events through the outbox:
the project's `roadbranch_shared.aggregates`, with welfare's CloudEvents source. Needs are typed
aggregates on a store (`welfare.app.needs`); stations and campaigns decide MongoDB updates on the
document (`change`), which their atomic counters (beds, stock) still need.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.asynchronous.collection import AsyncCollection
from roadbranch_shared.aggregates import Decide, Decision, change_document, create_document
from roadbranch_shared.aggregates import DocumentChanged as Changed
from roadbranch_shared.documents import Document
from roadbranch_shared.events import EventPayload, source_of

from welfare.domain.errors import WelfareError

SOURCE = source_of("welfare")


async def create(
    collection: AsyncCollection[Document], document: Document, events: Sequence[EventPayload]
) -> None:
    await create_document(collection, document, events, source=SOURCE)


async def change(
    collection: AsyncCollection[Document],
    aggregate_id: str,
    decide: Decide,
    *,
    missing: WelfareError,
    tries: int = 20,
) -> Changed:
    """Apply `decide(current)`'s update and events; `missing` is raised if there is no such aggregate."""
    return await change_document(
        collection, aggregate_id, decide, source=SOURCE, missing=missing, tries=tries
    )


__all__ = ["SOURCE", "Changed", "Decision", "change", "create"]
