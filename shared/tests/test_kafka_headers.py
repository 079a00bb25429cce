"""The Kafka headers an event is published with, and the AsyncAPI documents that describe them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from roadbranch_shared.asyncapi_docs import HEADER_MEANINGS, HEADERS_SCHEMA, record_headers
from roadbranch_shared.events import Envelope, kafka_headers

ROOT = Path(__file__).resolve().parents[2]

ENVELOPE = Envelope(
    id="e-1",
    source="welfare",
    type="welfare.need.registered.v1",
    subject="need-42",
    time=datetime(2026, 1, 1, tzinfo=UTC),
    correlationid="e-1",
    seq=1,
    data={},
)


def test_partitionkey_header_is_the_subject_which_is_the_record_key() -> None:
    headers = kafka_headers(ENVELOPE)
    assert headers["ce_partitionkey"] == "need-42"
    assert headers["ce_type"] == "welfare.need.registered.v1"


@pytest.mark.parametrize(
    "path", sorted(ROOT.glob("services/*/asyncapi.json")), ids=lambda path: path.parent.name
)
def test_the_committed_documents_require_exactly_the_headers_a_record_carries(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    described = document["components"]["schemas"][HEADERS_SCHEMA]
    assert described["required"] == sorted(kafka_headers(ENVELOPE))
    assert set(described["properties"]) == set(kafka_headers(ENVELOPE))


def test_a_header_without_a_meaning_is_named() -> None:
    without = {name: text for name, text in HEADER_MEANINGS.items() if name != "ce_partitionkey"}
    with pytest.raises(ValueError, match="ce_partitionkey"):
        record_headers(without)


def test_a_meaning_of_a_header_no_longer_set_is_named() -> None:
    with pytest.raises(ValueError, match="ce_traceparent"):
        record_headers(HEADER_MEANINGS | {"ce_traceparent": "a trace"})
