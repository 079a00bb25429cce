"""The dead-letter policy's classification and how it parks records (no broker: a recording publisher)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ValidationError
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError
from roadbranch_shared.deadletter import DeadLetterPolicy, classify
from roadbranch_shared.events import InvalidEvent
from roadbranch_shared.metrics import DeadLetterMetrics


@dataclass
class Record:
    topic: str = "roster.member.v1"
    partition: int = 2
    offset: int = 41
    key: bytes | None = b"mem-1"
    value: bytes | None = b'{"id": "e1"}'
    headers: list[tuple[str, bytes]] = field(default_factory=lambda: [("ce_type", b"x.y.z.v1")])


class Model(BaseModel):
    n: int


def validation_error() -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Model.model_validate({"n": "many"})
    return caught.value


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (InvalidEvent("not_json", "x"), "invalid:not_json"),
        (ServerSelectionTimeoutError("down"), "outage"),
        (KafkaConnectionError(), "outage"),
        (OperationFailure("write conflict", code=112), "outage"),
        (OperationFailure("bad query", code=2), "transient"),
        (validation_error(), "transient"),  # raised by handler code: a bug to retry, not a bad record
        (RuntimeError("bug"), "transient"),
    ],
)
def test_classification(error: BaseException, kind: str) -> None:
    assert classify(error) == kind


class Recorder:
    def __init__(self, refuse_values: bool = False, outages: int = 0) -> None:
        self.sent: list[tuple[bytes | None, str, bytes | None, dict[str, str]]] = []
        self.refuse_values = refuse_values
        self.outages = outages

    async def __call__(
        self, value: bytes | None, topic: str, key: bytes | None, headers: dict[str, str]
    ) -> None:
        if self.outages:
            self.outages -= 1
            raise KafkaConnectionError()
        if self.refuse_values and value is not None:
            raise MessageSizeTooLargeError()
        self.sent.append((value, topic, key, headers))


def policy(publish: Recorder, **kwargs: object) -> DeadLetterPolicy:
    p = DeadLetterPolicy(DeadLetterMetrics(CollectorRegistry()), base_delay=0.001, **kwargs)  # type: ignore[arg-type]
    p.bind(publish)
    return p


async def test_a_dead_letter_keeps_key_value_and_headers_and_names_its_origin() -> None:
    sent = Recorder()
    await policy(sent).dead_letter(
        Record(), reason="handler_failed", error="boom", attempts=3, group="activities"
    )
    [(value, topic, key, headers)] = sent.sent
    assert (value, topic, key) == (b'{"id": "e1"}', "roster.member.v1.dlq", b"mem-1")
    assert headers["ce_type"] == "x.y.z.v1"
    assert (headers["dlq-origin-partition"], headers["dlq-origin-offset"]) == ("2", "41")
    assert (headers["dlq-reason"], headers["dlq-attempts"], headers["dlq-consumer-group"]) == (
        "handler_failed",
        "3",
        "activities",
    )


async def test_kafka_outages_are_waited_out_not_dropped() -> None:
    sent = Recorder(outages=3)
    await policy(sent).dead_letter(Record(), reason="not_json", error="x", attempts=1, group="g")
    assert len(sent.sent) == 1


async def test_a_copy_kafka_refuses_is_parked_as_a_reference() -> None:
    sent = Recorder(refuse_values=True)
    await policy(sent).dead_letter(Record(), reason="not_json", error="x", attempts=1, group="g")
    [(value, _, key, headers)] = sent.sent
    assert value is None
    assert key == b"mem-1"
    assert headers["dlq-value-omitted"] == "refused:MessageSizeTooLargeError"


async def test_records_of_a_personal_data_topic_are_parked_without_their_value() -> None:
    sent = Recorder()
    contact = Record(topic="roster.contact.v1", value=b'{"phone": "13900000000"}')
    await policy(sent, reference_only=["roster.contact.v1"]).dead_letter(
        contact, reason="handler_failed", error="x", attempts=3, group="notify"
    )
    [(value, topic, _, headers)] = sent.sent
    assert value is None
    assert topic == "roster.contact.v1.dlq"
    assert headers["dlq-value-omitted"] == "personal_data"
