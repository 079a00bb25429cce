"""docs/subscribers.md stays true: its example is the file that is run, its table names every topic,
and the CloudEvents SDK reads a record, as the relay builds it, the way the page says."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event, from_structured_event
from roadbranch_shared.contracts.welfare import NeedFiled
from roadbranch_shared.events import new_event, source_of
from roadbranch_shared.outbox import OutboxEntry, outbox_entry
from roadbranch_shared.topics import PROJECT_TOPICS

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "subscribers.md"
EXAMPLE = ROOT / "examples" / "subscriber.py"
FILED = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def test_the_pages_example_is_the_example_file() -> None:
    blocks = PYTHON_BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert blocks, "no ```python block in docs/subscribers.md"
    assert EXAMPLE.read_text(encoding="utf-8") in blocks, (
        "the example in docs/subscribers.md differs from examples/subscriber.py: paste the file in"
    )


def test_the_topic_table_names_every_project_topic() -> None:
    page = PAGE.read_text(encoding="utf-8")
    missing = [t.name for t in PROJECT_TOPICS if f"| `{t.name}` |" not in page]
    assert missing == []


def a_record() -> tuple[KafkaMessage, OutboxEntry]:
    """A record exactly as a relay publishes an outbox entry (value, key, headers)."""
    payload = NeedFiled(
        need_id="need_1", driver_id="drv_1", category="rights", urgency="normal", filed_at=FILED
    )
    entry = outbox_entry(new_event(payload, source=source_of("welfare"), subject="need_1", seq=1, at=FILED))
    headers = {name: value.encode() for name, value in entry["headers"].items()}
    return KafkaMessage(headers, entry["key"].encode(), entry["body"].encode()), entry


def test_from_structured_event_gives_the_event_with_the_key_as_partitionkey() -> None:
    record, entry = a_record()
    sent = json.loads(entry["body"])

    event = from_structured_event(record)

    assert event.get_type() == sent["type"] == "roadbranch.welfare.need.filed.v1"
    assert event.get_id() == sent["id"]
    assert event.get_source() == "/roadbranch/welfare"
    assert event.get_subject() == "need_1"
    assert event.get_data() == sent["data"]
    assert event.get_extension("partitionkey") == "need_1" == entry["key"]
    assert event.get_time() == FILED
    assert event.get_extension("seq") == 1
    assert "partitionkey" not in sent  # the SDK takes it from the record key


def test_from_kafka_event_reads_our_records_as_binary_mode() -> None:
    """Why the page says not to use it: any `ce_` header makes SDK 2.2.0 choose binary mode."""
    record, entry = a_record()
    sent = json.loads(entry["body"])

    event = from_kafka_event(record)

    assert event.get_data() == sent  # the whole envelope, not its data
    assert event.get_subject() is None
    assert event.get_extension("seq") is None
    assert event.get_time() != FILED  # no ce_time header: the SDK stamps the time of decoding
