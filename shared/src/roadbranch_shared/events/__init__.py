"""The event backbone's published language: CloudEvents envelope, payload registry and decoding."""

from roadbranch_shared.events.envelope import (
    Envelope,
    InvalidEvent,
    decode_envelope,
    encode_envelope,
    kafka_headers,
    new_event,
    payload_of,
)
from roadbranch_shared.events.registry import (
    EventPayload,
    EventSpec,
    event_type,
    registered_events,
    spec_for,
)
from roadbranch_shared.events.sources import source_of

__all__ = [
    "Envelope",
    "EventPayload",
    "EventSpec",
    "InvalidEvent",
    "decode_envelope",
    "encode_envelope",
    "event_type",
    "kafka_headers",
    "new_event",
    "payload_of",
    "registered_events",
    "source_of",
    "spec_for",
]
