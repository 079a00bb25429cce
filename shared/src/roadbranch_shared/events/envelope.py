"""CloudEvents 1.0 envelope in structured JSON mode, plus seq, correlation and causation ids."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from roadbranch_shared.events.registry import EventPayload, spec_for

CONTENT_TYPE = "application/cloudevents+json"


class InvalidEvent(Exception):
    """A record that is not a well-formed event of a known shape; `reason` is a machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Envelope(BaseModel):
    """One event. `subject` is the aggregate id (also the Kafka key); `seq` the aggregate's version."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: str = "1.0"
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: str = "application/json"
    correlationid: str
    causationid: str | None = None
    seq: int = Field(ge=1)
    data: dict[str, Any]


def new_event(
    payload: EventPayload,
    *,
    source: str,
    subject: str,
    seq: int,
    correlation_id: str | None = None,
    caused_by: Envelope | None = None,
    at: datetime | None = None,
) -> Envelope:
    """Wrap a payload; an event caused by another inherits its correlation id."""
    event_id = str(uuid.uuid4())
    if caused_by is not None:
        correlation_id = correlation_id or caused_by.correlationid
    return Envelope(
        id=event_id,
        source=source,
        type=payload.event_type,
        subject=subject,
        time=at or datetime.now(UTC),
        correlationid=correlation_id or event_id,
        causationid=caused_by.id if caused_by is not None else None,
        seq=seq,
        data=payload.model_dump(mode="json"),
    )


def encode_envelope(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode()


def kafka_headers(envelope: Envelope) -> dict[str, str]:
    """Binary-mode attributes as headers, so routers and tools need not parse the body.

    `ce_partitionkey` is the CloudEvents partitioning extension: the record key (the aggregate id)."""
    return {
        "ce_id": envelope.id,
        "ce_type": envelope.type,
        "ce_source": envelope.source,
        "ce_specversion": envelope.specversion,
        "ce_partitionkey": envelope.subject,
        "content-type": CONTENT_TYPE,
    }


def decode_envelope(body: bytes) -> Envelope:
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidEvent("not_json", f"the record is not JSON: {e}") from e
    if not isinstance(raw, dict):
        raise InvalidEvent("not_an_envelope", "the record is JSON but not an object")
    try:
        return Envelope.model_validate(raw)
    except ValidationError as e:
        raise InvalidEvent("envelope_invalid", _fields(e)) from e


def payload_of(envelope: Envelope) -> EventPayload:
    """Validate the envelope's data against its registered model; InvalidEvent names what is wrong."""
    spec = spec_for(envelope.type)
    if spec is None:
        raise InvalidEvent("unknown_type", f"no payload model is registered for type {envelope.type!r}")
    try:
        return spec.model.model_validate(envelope.data)
    except ValidationError as e:
        raise InvalidEvent("payload_invalid", f"{envelope.type}: {_fields(e)}") from e


def _fields(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in error.errors())
