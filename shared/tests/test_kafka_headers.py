"""The Kafka headers an event is published with."""

from __future__ import annotations

from datetime import UTC, datetime

from roadbranch_shared.asyncapi_docs import RECORD_HEADERS
from roadbranch_shared.events import Envelope, kafka_headers

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


def test_the_asyncapi_documents_describe_exactly_the_headers_records_carry() -> None:
    assert set(RECORD_HEADERS) == set(kafka_headers(ENVELOPE))
