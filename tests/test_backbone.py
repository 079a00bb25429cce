"""The event backbone on real Kafka and FerretDB: outbox → relay → Kafka → a consumer in another process."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from roadbranch_shared.dashboards import dashboard_metric_names
from roadbranch_shared.devstack import Stack, StackInfo
from roadbranch_shared.dlq_replay import ReplayFilter, replay
from roadbranch_shared.events import Envelope, EventPayload, encode_envelope
from roadbranch_shared.metrics import BackboneMetrics
from roadbranch_shared.outbox import OutboxRelay, insert_aggregate, stage_events, update_aggregate
from roadbranch_shared.pii import find_pii, generate_key
from roadbranch_shared.pii.crypto import PiiKeys, encrypt
from roadbranch_shared.pii.idnumber import make_synthetic_id_number
from roadbranch_shared.service import make_broker, outbox_publisher
from roadbranch_shared.settings import ServiceSettings
from roadbranch_shared.testing import ServiceProcess, eventually, list_topics, read_topic
from roadbranch_shared.topics import ROSTER_CONTACT, ensure_topics
from tally_events import TALLY, AuditRequested, Counted

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "tests" / "apps"
PROMETHEUS_OWN = {"up"}  # written by Prometheus for each scrape target, not by a service

pytestmark = pytest.mark.integration


class Source:
    """The producing side: counter aggregates whose events go through the outbox."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], db_name: str, broker: Any) -> None:
        self.client = client
        self.db = client[db_name]
        self.db_name = db_name
        self.broker = broker

    async def emit(self, counter_id: str, payload: EventPayload) -> None:
        doc = await self.db.counters.find_one({"_id": counter_id})
        version = doc["version"] if doc else 0
        events = stage_events(
            [payload], source="/tests/tally-source", subject=counter_id, from_version=version
        )
        if doc is None:
            await insert_aggregate(self.db.counters, {"_id": counter_id}, events)
        else:
            await update_aggregate(
                self.db.counters,
                counter_id,
                expected_version=version,
                update={"$set": {"last_type": payload.event_type}},
                events=events,
            )

    async def count(self, counter_id: str, amount: int = 1, note: str = "") -> None:
        await self.emit(counter_id, Counted(counter_id=counter_id, amount=amount, note=note))

    def relay(self) -> OutboxRelay:
        return OutboxRelay(self.db, ["counters"], outbox_publisher(self.broker), idle_interval=0.05)

    async def pending(self, counter_id: str) -> int:
        doc = await self.db.counters.find_one({"_id": counter_id})
        return len(doc["outbox"]) if doc else 0


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A random hex id (`mtg_296a17493460480d`) holds eleven digits in a row now and then.
HEX_ID = re.compile(r"(?<![0-9A-Za-z])(?=[0-9a-f]*[a-f])[0-9a-f]{12,}(?![0-9A-Za-z])")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def pii_env() -> dict[str, str]:
    return {
        "ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(),
        "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key(),
    }


@pytest.fixture(scope="module")
def tally(
    stack_info: StackInfo, pii_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    import asyncio as aio

    aio.run(ensure_topics(stack_info.kafka_bootstrap, (TALLY,)))
    db_name = new_id("tally")
    env = {
        **stack_info.service_env("tally"),
        "ROADBRANCH_TALLY_MONGO_DB": db_name,
        "ROADBRANCH_TALLY_DLQ_BASE_DELAY": "0.05",
        **pii_env,
    }
    proc = ServiceProcess(
        "tally:app", app_dir=APPS, env=env, log=tmp_path_factory.mktemp("tally") / "tally.log"
    )
    proc.db_name = db_name  # type: ignore[attr-defined]
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
async def source(stack_info: StackInfo, tally: ServiceProcess) -> AsyncIterator[Source]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    broker, _ = make_broker(
        "tally-source",
        ServiceSettings(kafka_bootstrap=stack_info.kafka_bootstrap),
        BackboneMetrics(),
    )
    await broker.start()
    yield Source(client, new_id("tally_source"), broker)
    await broker.stop()
    await client.close()


@pytest.fixture(scope="module")
async def view(stack_info: StackInfo, tally: ServiceProcess) -> AsyncIterator[Any]:
    """The consumer's own database, read directly to see what it applied."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    yield client[tally.db_name]  # type: ignore[attr-defined]
    await client.close()


async def totals(view: Any, keys: list[str]) -> dict[str, Any]:
    return {d["_id"]: d async for d in view.tallies.find({"_id": {"$in": keys}})}


async def duplicates(view: Any) -> int:
    doc = await view.stats.find_one({"_id": "duplicates"})
    return int(doc["n"]) if doc else 0


async def test_outbox_events_reach_a_consumer_in_another_process_in_order_per_key(
    source: Source, view: Any, stack_info: StackInfo
) -> None:
    keys = [new_id("order") for _ in range(4)]
    for _ in range(10):
        for key in keys:
            await source.count(key)
    relay = source.relay()
    relay.start()
    try:

        async def all_counted() -> bool:
            docs = await totals(view, keys)
            return len(docs) == 4 and all(d["total"] == 10 for d in docs.values())

        await eventually(all_counted, message="40 events applied by the tally process")
    finally:
        await relay.stop()
    for doc in (await totals(view, keys)).values():
        assert doc["seqs"] == list(range(1, 11)), f"{doc['_id']} applied out of order: {doc['seqs']}"
    assert [await source.pending(k) for k in keys] == [0, 0, 0, 0], "the relay left events in the outbox"
    published = [
        r
        for r in await read_topic(stack_info.kafka_bootstrap, TALLY.name)
        if r.key in {k.encode() for k in keys}
    ]
    assert len(published) == 40
    for r in published:
        assert dict(r.headers)["ce_partitionkey"] == r.key, "partitionkey is the record key"


async def test_relay_killed_between_publish_and_pull_republishes_and_state_is_applied_once(
    source: Source, view: Any, stack_info: StackInfo
) -> None:
    key = new_id("crash")
    for _ in range(5):
        await source.count(key)
    before = await duplicates(view)

    crashed = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            str(APPS / "crashing_relay.py"),
            stack_info.mongo_uri,
            source.db_name,
            stack_info.kafka_bootstrap,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert await source.pending(key) == 5, "the killed relay must not have pulled anything"

    async def applied_once() -> Any:
        return (await totals(view, [key])).get(key, {}).get("total") == 5

    await eventually(applied_once, message="the events the killed relay published")

    relay = source.relay()

    async def republished() -> int:
        return await relay.drain_once()  # 0 until the dead relay's lease runs out

    assert await eventually(republished, timeout=30, message="a new relay to take over") == 5
    await eventually(lambda: _ge(duplicates(view), before + 5), message="the 5 redeliveries to be seen")
    doc = (await totals(view, [key]))[key]
    assert doc["total"] == 5, "a redelivered event was applied twice"
    assert doc["seqs"] == [1, 2, 3, 4, 5]
    assert await source.pending(key) == 0


async def _ge(value: Any, minimum: int) -> bool:
    return bool(await value >= minimum)


async def test_bad_records_go_to_the_dead_letter_topic_and_the_next_one_is_processed(
    source: Source, view: Any, tally: ServiceProcess, stack_info: StackInfo
) -> None:
    key = new_id("dlq")
    await source.broker.publish(b"{not json", topic=TALLY.name, key=key.encode())
    wrong_payload = Envelope(
        id=str(uuid.uuid4()),
        source="/tests",
        type=Counted.event_type,
        subject=key,
        time="2026-11-28T08:00:00Z",
        correlationid="c",
        seq=1,
        data={"counter_id": key, "amount": "many"},
    )
    await source.broker.publish(encode_envelope(wrong_payload), topic=TALLY.name, key=key.encode())
    await source.count(key, 1, note="fail-until-fixed")
    await source.count(key, 2)
    relay = source.relay()
    relay.start()
    try:
        await eventually(lambda: _total_is(view, key, 2), message="the good event after the bad ones")
    finally:
        await relay.stop()

    async def parked() -> list[Any]:
        records = [
            r
            for r in await read_topic(stack_info.kafka_bootstrap, TALLY.dead_letters.name)
            if r.key == key.encode()
        ]
        return records if len(records) == 3 else []

    records = await eventually(parked, message="three dead letters")
    headers = [dict((k, v.decode()) for k, v in r.headers) for r in records]
    assert [h["dlq-reason"] for h in headers] == ["not_json", "payload_invalid", "handler_failed"]
    assert records[0].value == b"{not json", "the dead letter must keep the original bytes"
    assert "amount" in headers[1]["dlq-error"]
    assert headers[2]["dlq-attempts"] == "3"
    assert "cannot count this yet" in headers[2]["dlq-error"]
    for h in headers:
        assert h["dlq-origin-topic"] == TALLY.name
        assert h["dlq-origin-offset"].isdigit()
        assert h["dlq-consumer-group"] == f"tally.{TALLY.name}", "the subscription's own group"
    assert tally.alive
    async with httpx.AsyncClient(base_url=tally.url) as http:
        assert (await http.get("/health/ready")).status_code == 200
        metrics = (await http.get("/metrics")).text
    assert 'roadbranch_dead_letters_total{reason="not_json",topic="test.tally.v1"}' in metrics
    # Every backbone metric the Grafana dashboards query is one a running service really exports
    # (the services' own metrics are checked against the five running services in tests/seed/test_figures.py).
    exported = {line.split("{")[0].split(" ")[0] for line in metrics.splitlines() if not line.startswith("#")}
    backbone = ("faststream_", "roadbranch_outbox_", "roadbranch_dead_letters")
    queried = {
        name
        for name in dashboard_metric_names(ROOT / "deploy" / "grafana" / "dashboards") - PROMETHEUS_OWN
        if name.startswith(backbone)
    }
    assert queried <= exported, f"dashboards query metrics no service exports: {sorted(queried - exported)}"

    listed = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "roadbranch_shared.dlq_replay",
            "--bootstrap",
            stack_info.kafka_bootstrap,
            "--topic",
            TALLY.name,
            "--key",
            key,
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [json.loads(line)["reason"] for line in listed.stdout.splitlines()] == [
        "not_json",
        "payload_invalid",
        "handler_failed",
    ]

    # The cause is fixed; replaying the parked event applies it, once.
    await view.stats.insert_one({"_id": "fixed"})
    summary = await replay(
        stack_info.kafka_bootstrap, TALLY.name, ReplayFilter(reason="handler_failed", key=key)
    )
    assert len(summary) == 1
    await eventually(lambda: _total_is(view, key, 3), message="the replayed event")


async def _total_is(view: Any, key: str, total: int) -> bool:
    return (await totals(view, [key])).get(key, {}).get("total") == total


async def test_a_tombstone_reaches_the_tombstone_handler_and_is_not_dead_lettered(
    source: Source, view: Any, stack_info: StackInfo
) -> None:
    key = new_id("erased")
    await source.count(key, 4)
    await eventually(source.relay().drain_once, message="the count to be published")
    await eventually(lambda: _total_is(view, key, 4), message="the count to be applied")
    await source.broker.publish(None, topic=TALLY.name, key=key.encode())

    async def erased() -> bool:
        return await view.tallies.find_one({"_id": key}) is None

    await eventually(erased, message="the tombstone to erase the tally")
    parked = [
        r
        for r in await read_topic(stack_info.kafka_bootstrap, TALLY.dead_letters.name)
        if r.key == key.encode()
    ]
    assert parked == []


async def test_kafka_stopped_and_restarted_mid_stream_loses_nothing(
    source: Source, view: Any, stack: Stack
) -> None:
    keys = [new_id("restart") for _ in range(3)]
    relay = source.relay()
    relay.start()
    try:
        for _ in range(10):
            for key in keys:
                await source.count(key)
        await eventually(lambda: _all_at(view, keys, 10), message="the first 30 events")
        await asyncio.to_thread(stack.kafka.stop)
        for _ in range(10):  # written while the broker is down: they wait in the outbox
            for key in keys:
                await source.count(key)
        await asyncio.to_thread(stack.kafka.start)
        for _ in range(10):
            for key in keys:
                await source.count(key)
        await eventually(
            lambda: _all_at(view, keys, 30), timeout=180, message="all 90 events after the restart"
        )
    finally:
        await relay.stop()
    for doc in (await totals(view, keys)).values():
        assert doc["seqs"] == list(range(1, 31))


async def _all_at(view: Any, keys: list[str], total: int) -> bool:
    docs = await totals(view, keys)
    return len(docs) == len(keys) and all(d["total"] == total for d in docs.values())


async def test_no_raw_id_number_or_phone_reaches_logs_or_topics(
    source: Source, view: Any, tally: ServiceProcess, stack_info: StackInfo, pii_env: dict[str, str]
) -> None:
    keys = PiiKeys.from_env(environ=pii_env)
    holder = new_id("holder")
    id_number = make_synthetic_id_number("513436", __import__("datetime").date(1985, 6, 1), 123)
    phone = "13912345678"
    await view.holders.insert_one(
        {
            "_id": holder,
            "id_number": encrypt(keys, id_number, aad=holder),
            "phone": encrypt(keys, phone, aad=holder),
        }
    )
    await source.emit(holder, AuditRequested(holder_id=holder))
    relay = source.relay()
    await eventually(relay.drain_once, message="the audit event to be published")

    async def parked() -> list[Any]:
        return [
            r
            for r in await read_topic(stack_info.kafka_bootstrap, TALLY.dead_letters.name)
            if r.key == holder.encode()
        ]

    await eventually(parked, message="the failed audit to be dead-lettered")
    logs = tally.logs()
    assert "auditing holder" in logs, "the careless log line should have been written (redacted)"
    assert id_number not in logs
    assert phone not in logs
    assert "[REDACTED" in logs
    for topic in await list_topics(stack_info.kafka_bootstrap):
        for r in await read_topic(stack_info.kafka_bootstrap, topic):
            blob = b" ".join([r.key or b"", r.value or b"", *(v for _, v in r.headers)]).decode(
                errors="replace"
            )
            assert id_number not in blob, f"a raw ID number on {topic}"
            assert phone not in blob, f"a raw phone number on {topic}"
            # Random UUIDs (event and correlation ids) can look like a dashed phone number now and then,
            # and a random hex id like a mobile number; a real number has no letter a-f in it.
            scrubbed = HEX_ID.sub("<id>", UUID.sub("<uuid>", blob))
            # Roster seals contact points on roster.contact.v1; records in the older, clear format
            # that notify tests publish themselves (tests/test_notify_crash.py) may be there.
            allowed = {"phone"} if topic == ROSTER_CONTACT.name else set()
            found = set(find_pii(scrubbed)) - allowed
            assert not found, f"something like an ID or phone number on {topic}: {scrubbed}"
