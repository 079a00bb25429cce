"""Subscribing to topics and applying events exactly once to a service's own documents.

`EventSubscription` registers one subscriber per topic with the project's consumer settings
(a consumer group of its own per topic, earliest offset, ack after processing) and dispatches by
event type. The `apply_*` helpers dedupe inside the very single-document update that applies the event.

Why a group per topic: FastStream runs one Kafka consumer per subscriber. Had a service's dozen
subscribers shared one group, each joining member would rebalance the whole group again (the
briefing's start took 13 generations and a minute on a busy broker), and a slow topic would stall
the others' assignments. With `<service group>.<topic>`, each group has one member per replica.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage
from pymongo.asynchronous.collection import AsyncCollection

from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.events import Envelope, EventPayload, decode_envelope, payload_of
from roadbranch_shared.topics import Topic

log = logging.getLogger(__name__)

P = TypeVar("P", bound=EventPayload)
Handler = Callable[[Any, Envelope], Awaitable[None]]


async def decode_record(msg: StreamMessage[Any]) -> dict[str, Any] | None:
    """Our records are `application/cloudevents+json`, which FastStream's decoder leaves as bytes;
    decoding here also gives the dead-letter reason (not_json, envelope_invalid, ...).
    A tombstone (a null value on a compacted topic) decodes to None."""
    if getattr(msg.raw_message, "value", b"") is None:
        return None
    return decode_envelope(msg.body).model_dump()


def consumer_settings(group_id: str, *, heartbeat_seconds: float = 3.0) -> dict[str, Any]:
    """FastStream's Kafka default is at-most-once from `latest`; every subscriber of ours overrides it.
    `heartbeat_seconds`: how often a member tells the group it is alive, which is also how soon it
    notices that another replica joined and the partitions are shared out again."""
    return {
        "group_id": group_id,
        "heartbeat_interval_ms": int(heartbeat_seconds * 1000),
        "auto_offset_reset": "earliest",
        # Commit after the handler (and the dead-letter middleware) finished with the record.
        "ack_policy": AckPolicy.ACK,
    }


def kafka_group(service_group: str, topic: Topic) -> str:
    """The Kafka consumer group a service's subscription to `topic` commits its offsets in."""
    return f"{service_group}.{topic.name}"


class EventSubscription:
    """The handlers one service runs for one topic, keyed by event type."""

    def __init__(self, topic: Topic, *, group_id: str, description: str | None = None) -> None:
        """`group_id` is the service's consumer group; the Kafka group is `<group_id>.<topic>`."""
        self.topic = topic
        self.group_id = kafka_group(group_id, topic)
        self.description = description
        self._handlers: dict[str, Handler] = {}
        self._tombstone: Callable[[str], Awaitable[None]] | None = None

    def on(self, model: type[P]) -> Callable[[Callable[[P, Envelope], Awaitable[None]]], Handler]:
        if model.topic != self.topic:
            raise ValueError(f"{model.event_type} is published on {model.topic.name}, not {self.topic.name}")

        def register(handler: Callable[[P, Envelope], Awaitable[None]]) -> Handler:
            self._handlers[model.event_type] = handler
            return handler

        return register

    def on_tombstone(self, handler: Callable[[str], Awaitable[None]]) -> Callable[[str], Awaitable[None]]:
        """Handle a tombstone (the key's record was erased) on a compacted topic; it gets the key."""
        self._tombstone = handler
        return handler

    @property
    def event_types(self) -> list[str]:
        return sorted(self._handlers)

    async def dispatch(self, envelope: Envelope | None, message: KafkaMessage) -> None:
        """FastStream calls this per record; `message` (the raw record) comes from its context."""
        if envelope is None:
            if self._tombstone is not None:
                key = message.raw_message.key  # type: ignore[union-attr]
                await self._tombstone(key.decode() if isinstance(key, bytes) else str(key))
            return
        handler = self._handlers.get(envelope.type)
        if handler is None:
            return  # other event types on the topic are not this service's concern
        await handler(payload_of(envelope), envelope)

    def register(self, broker: KafkaBroker, *, heartbeat_seconds: float = 3.0) -> None:
        subscriber = broker.subscriber(
            self.topic.name,
            title=self.group_id,
            description=self.description or f"handles {', '.join(self.event_types)}",
            decoder=decode_record,
            **consumer_settings(self.group_id, heartbeat_seconds=heartbeat_seconds),
        )
        subscriber(self.dispatch)


async def apply_once(
    collection: AsyncCollection[Document],
    doc_id: Any,
    envelope: Envelope,
    update: Mapping[str, Any],
    *,
    upsert: bool = True,
) -> bool:
    """Apply `update` unless this event was applied to the document before; True if it was applied.

    The event id joins the document's `applied` list in the same update, so a redelivered event
    finds its id there and changes nothing. Keep such documents per aggregate so the list stays short.
    """
    merged: dict[str, Any] = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$push", {})["applied"] = envelope.id
    return await update_if(collection, doc_id, {"applied": {"$ne": envelope.id}}, merged, upsert=upsert)


async def apply_in_order(
    collection: AsyncCollection[Document],
    doc_id: Any,
    envelope: Envelope,
    update: Mapping[str, Any],
    *,
    seq_field: str = "seq",
    upsert: bool = True,
) -> bool:
    """Apply `update` only if the event is newer than the last one applied from its aggregate.

    For a view of one source aggregate: a redelivered or older event (seq not above the stored
    one) changes nothing. Returns True if applied.
    """
    merged: dict[str, Any] = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$set", {})[seq_field] = envelope.seq
    newer = {"$or": [{seq_field: {"$exists": False}}, {seq_field: {"$lt": envelope.seq}}]}
    return await update_if(collection, doc_id, newer, merged, upsert=upsert)
