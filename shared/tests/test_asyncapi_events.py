"""What the committed AsyncAPI documents tell a subscriber about a topic's records: one schema per
event type, told apart by `type` (a discriminator), each with its own payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from roadbranch_shared import contracts  # noqa: F401  (registers every published event type)
from roadbranch_shared.contracts.roster import DriverUpdated
from roadbranch_shared.events import encode_envelope, new_event, registered_events, source_of
from roadbranch_shared.topics import PROJECT_TOPICS

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(ROOT.glob("services/*/asyncapi.json"))


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref`s (a channel's message is itself a reference to a component) to the object."""
    while (ref := schema.get("$ref")) is not None:
        schema = document
        for part in ref.removeprefix("#/").split("/"):
            schema = schema[part]
    return schema


def published(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(topic, payload schema) of every topic the service sends to."""
    topics = []
    for operation in document["operations"].values():
        if operation["action"] != "send":
            continue
        channel = resolve(document, operation["channel"])
        for message in operation["messages"]:
            payload = resolve(document, resolve(document, message)["payload"])
            topics.append((channel["address"], payload))
    return topics


def test_every_publishing_service_is_checked() -> None:
    senders = {path.parent.name for path in DOCUMENTS if published(load(path))}
    assert senders >= {"roster", "activities", "welfare", "notify", "identity"}


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.parent.name)
def test_a_topics_payload_is_one_schema_per_event_type_told_apart_by_type(path: Path) -> None:
    document = load(path)
    for topic, payload in published(document):
        specs = {s.type: s for s in registered_events() if s.topic.name == topic}
        assert payload["discriminator"] == "type", topic
        # AsyncAPI: the discriminating property is declared on the schema naming it, and required.
        assert payload["properties"]["type"]["enum"] == sorted(specs), topic
        assert "type" in payload["required"], topic
        alternatives = [resolve(document, ref) for ref in payload["oneOf"]]
        consts = [alt["properties"]["type"]["const"] for alt in alternatives]
        assert consts == sorted(specs), topic
        for alternative, type_name in zip(alternatives, consts, strict=True):
            assert "type" in alternative["required"]
            data = resolve(document, alternative["properties"]["data"])
            assert data["title"] == specs[type_name].model.__name__, type_name


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.parent.name)
def test_the_correlation_id_is_where_the_event_keeps_it(path: Path) -> None:
    document = load(path)
    for name, message in document["components"]["messages"].items():
        assert message["correlationId"]["location"] == "$message.payload#/correlationid", name
    for topic, payload in published(document):
        for alternative in payload["oneOf"]:
            assert "correlationid" in resolve(document, alternative)["required"], topic


def test_a_compacted_topic_says_what_a_tombstone_is() -> None:
    described = {}
    for path in DOCUMENTS:
        document = load(path)
        for operation in document["operations"].values():
            if operation["action"] == "send":
                channel = resolve(document, operation["channel"])
                described[channel["address"]] = channel["description"]
    compacted = [topic.name for topic in PROJECT_TOPICS if topic.compacted]
    assert compacted
    for name in compacted:
        assert "a record with a null value is a tombstone" in described[name], name


def roster_driver_events() -> Draft7Validator:
    document = load(ROOT / "services/roster/asyncapi.json")
    (payload,) = [p for topic, p in published(document) if topic == "roster.driver.v1"]
    return Draft7Validator({"$ref": f"#/components/schemas/{payload['title']}", **document})


def a_record_value(**changes: Any) -> dict[str, Any]:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    payload = DriverUpdated(driver_id="drv_1", changed=["county"], updated_at=at)
    envelope = new_event(payload, source=source_of("roster"), subject="drv_1", seq=2)
    value: dict[str, Any] = json.loads(encode_envelope(envelope))
    return value | changes


def test_a_record_as_published_matches_its_topics_schema() -> None:
    assert list(roster_driver_events().iter_errors(a_record_value())) == []


def test_a_type_the_topic_does_not_carry_is_refused() -> None:
    wrong = a_record_value(type="roadbranch.welfare.need.filed.v1")
    assert not roster_driver_events().is_valid(wrong)


def test_the_data_must_be_the_payload_of_the_records_type() -> None:
    # A driver.updated payload under the driver.registered type lacks what a registration has.
    wrong = a_record_value(type="roadbranch.roster.driver.registered.v1")
    assert not roster_driver_events().is_valid(wrong)
