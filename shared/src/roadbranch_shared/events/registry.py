"""Registry of event types: each dotted, versioned `type` maps to one pydantic payload model and topic.

It knows nothing of the envelope: reading an envelope's payload (`payload_of`) is the envelope's
module's, which looks the type up here."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from roadbranch_shared.topics import Topic


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
