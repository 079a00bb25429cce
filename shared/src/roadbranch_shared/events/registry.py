"""Registry of event types: each dotted, versioned `type` maps to one pydantic payload model and topic."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from roadbranch_shared.topics import Topic

if TYPE_CHECKING:
    from roadbranch_shared.events.envelope import Envelope


class EventPayload(BaseModel):
    """Base of every event payload. Inbound parsing ignores unknown fields (forward compatibility)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[Topic]


@dataclass(frozen=True)
class EventSpec:
    type: str
    topic: Topic
    model: builtins.type[EventPayload]


_REGISTRY: dict[str, EventSpec] = {}

P = TypeVar("P", bound=type[EventPayload])


def event_type(name: str, *, topic: Topic) -> Callable[[P], P]:
    """Class decorator registering a payload model under its CloudEvents `type`."""
    parts = name.split(".")
    if len(parts) < 4 or not parts[-1].startswith("v") or not parts[-1][1:].isdigit():
        raise ValueError(f"event type {name!r} must be dotted and end in a version like .v1")

    def register(model: P) -> P:
        known = _REGISTRY.get(name)
        if known is not None and known.model is not model:
            raise ValueError(f"event type {name!r} is already registered to {known.model.__name__}")
        model.event_type = name
        model.topic = topic
        _REGISTRY[name] = EventSpec(name, topic, model)
        return model

    return register


def spec_for(type_name: str) -> EventSpec | None:
    return _REGISTRY.get(type_name)


def registered_events(prefix: str = "roadbranch.") -> list[EventSpec]:
    """The registered event types whose name starts with `prefix`, sorted by name."""
    return sorted((s for s in _REGISTRY.values() if s.type.startswith(prefix)), key=lambda s: s.type)


def payload_of(envelope: Envelope) -> EventPayload:
    """Validate the envelope's data against its registered model; InvalidEvent names what is wrong."""
    from roadbranch_shared.events.envelope import InvalidEvent

    spec = _REGISTRY.get(envelope.type)
    if spec is None:
        raise InvalidEvent("unknown_type", f"no payload model is registered for type {envelope.type!r}")
    try:
        return spec.model.model_validate(envelope.data)
    except ValidationError as e:
        fields = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise InvalidEvent("payload_invalid", f"{envelope.type}: {fields}") from e
