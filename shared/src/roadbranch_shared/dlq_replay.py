"""Replay dead letters: republish records from `<topic>.dlq` to the topic they came from.

    python -m roadbranch_shared.dlq_replay --topic roster.member.v1 [--reason R] [--key K]
        [--partition P --offset O] [--dry-run]

Replay after fixing the cause. Consumers are idempotent, so replaying a record twice is harmless;
each replayed record carries a `dlq-replayed-from` header naming the dead letter it came from.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer

from roadbranch_shared.deadletter import DLQ_HEADERS
from roadbranch_shared.kafka_tools import read_topic


@dataclass(frozen=True)
class ReplayFilter:
    reason: str | None = None
    key: str | None = None
    partition: int | None = None
    offset: int | None = None

    def admits(self, record: Any, headers: dict[str, str]) -> bool:
        if self.reason is not None and headers.get("dlq-reason") != self.reason:
            return False
        if self.key is not None and (record.key or b"").decode(errors="replace") != self.key:
            return False
        if self.partition is not None and record.partition != self.partition:
            return False
        return self.offset is None or record.offset == self.offset


async def replay(
    bootstrap: str, topic: str, keep: ReplayFilter, *, dry_run: bool = False
) -> list[dict[str, Any]]:
    """Republish the admitted dead letters of `topic`; returns one summary line per record."""
    dlq = f"{topic}.dlq"
    records = await read_topic(bootstrap, dlq)
    chosen = []
    for record in records:
        headers = {k: (v or b"").decode(errors="replace") for k, v in (record.headers or ())}
        if headers.get("dlq-origin-topic", topic) != topic:
            continue  # only ever back to the topic asked for
        if keep.admits(record, headers):
            chosen.append((record, headers))
    summary = [
        {
            "dlq_partition": r.partition,
            "dlq_offset": r.offset,
            "to": h.get("dlq-origin-topic", topic),
            "reason": h.get("dlq-reason"),
            "origin_offset": h.get("dlq-origin-offset"),
            "replayable": _replayable(h),
        }
        for r, h in chosen
    ]
    # A dead letter parked without its value (personal data, or refused by Kafka) cannot be
    # replayed: sending its null value would be a tombstone that erases the key's record.
    chosen = [(r, h) for r, h in chosen if _replayable(h)]
    if dry_run or not chosen:
        return summary
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for record, headers in chosen:
            kept = [(k, v.encode()) for k, v in headers.items() if k not in DLQ_HEADERS]
            kept.append(("dlq-replayed-from", f"{dlq}/{record.partition}/{record.offset}".encode()))
            await producer.send_and_wait(
                headers.get("dlq-origin-topic", topic), record.value, key=record.key, headers=kept
            )
    finally:
        await producer.stop()
    return summary


def _replayable(headers: dict[str, str]) -> bool:
    return headers.get("dlq-value-omitted") in (None, "tombstone")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m roadbranch_shared.dlq_replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bootstrap", default=os.environ.get("ROADBRANCH_KAFKA_BOOTSTRAP", "localhost:9092"))
    parser.add_argument("--topic", required=True, help="the origin topic, e.g. roster.member.v1")
    parser.add_argument("--reason", help="only dead letters with this dlq-reason")
    parser.add_argument("--key", help="only records with this key (an aggregate id)")
    parser.add_argument("--partition", type=int, help="only dead letters in this partition of the .dlq topic")
    parser.add_argument("--offset", type=int, help="only the dead letter at this offset of the .dlq topic")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed")
    args = parser.parse_args(argv)
    if args.topic.endswith(".dlq"):
        parser.error("--topic: give the origin topic, not its .dlq")
    keep = ReplayFilter(args.reason, args.key, args.partition, args.offset)
    summary = asyncio.run(replay(args.bootstrap, args.topic, keep, dry_run=args.dry_run))
    for line in summary:
        print(json.dumps(line))
    print(
        f"{'would replay' if args.dry_run else 'replayed'} {len(summary)} dead letters",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
