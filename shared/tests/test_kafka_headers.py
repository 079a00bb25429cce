"""The Kafka headers an event is published with."""

from __future__ import annotations

from datetime import UTC, datetime

from roadbranch_shared.events import Envelope, kafka_headers


def test_partitionkey_header_is_the_subject_which_is_the_record_key() -> None:
    envelope = Envelope(
        id="e-1",
        source="welfare",
        type="welfare.need.registered.v1",
        subject="need-42",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        correlationid="e-1",
        seq=1,
        data={},
    )
    headers = kafka_headers(envelope)
    assert headers["ce_partitionkey"] == "need-42"
    assert headers["ce_type"] == "welfare.need.registered.v1"
