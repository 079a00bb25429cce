"""The kinds of rule the briefing's tables are made of: what one event type does to the view.

Every write goes through `apply_in_order`, so a redelivered or republished event, or an older one,
changes nothing: the view stays idempotent and order-safe per document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.consumers import apply_in_order
from roadbranch_shared.documents import Document
from roadbranch_shared.events import Envelope, EventPayload

P = TypeVar("P", bound=EventPayload)
View = AsyncDatabase[Document]


@dataclass(frozen=True)
class Rule:
    """One row of a table: the event type and how it changes the view in `db`."""

    event: type[EventPayload]
    apply: Callable[[View, Any, Envelope], Awaitable[None]]


async def put(db: View, collection: str, doc_id: str, envelope: Envelope, fields: Document) -> None:
    await apply_in_order(db[collection], doc_id, envelope, {"$set": fields})


def upsert(
    event: type[P],
    collection: str,
    key: Callable[[P], str],
    fields: Callable[[P], Document],
    *,
    when: Callable[[P], bool] | None = None,
) -> Rule:
    """Set `fields` on the document `key` of `collection` (created if absent); only `when` it holds."""

    async def apply(db: View, e: P, envelope: Envelope) -> None:
        if when is None or when(e):
            await put(db, collection, key(e), envelope, fields(e))

    return Rule(event, apply)


def quote(event: type[P], key: Callable[[P], str], fields: Callable[[P], Document]) -> Rule:
    """Keep a driver's words (`fields` names him `speaker_id`), unless he is erased. Words and erasure
    come on different topics in no fixed order: the erasure marks him before it deletes his words, so
    a look after the write catches words that arrived in between (or after it, e.g. on a replay of
    the topic)."""

    async def apply(db: View, e: P, envelope: Envelope) -> None:
        quote_id, words = key(e), fields(e)
        await put(db, "quotes", quote_id, envelope, words)
        speaker = await db.drivers.find_one({"_id": words["speaker_id"]}, {"erased_at": 1})
        if speaker and speaker.get("erased_at"):
            await db.quotes.delete_one({"_id": quote_id})

    return Rule(event, apply)
