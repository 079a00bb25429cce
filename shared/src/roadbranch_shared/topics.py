"""Kafka topic names and their fixed partition counts; topics are created explicitly, never auto-created."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Topic:
    """One topic a service publishes to, keyed by the id of the aggregate that produced the event."""

    name: str
    partitions: int
    key: str
    compacted: bool = False
    personal: bool = False  # carries personal data (contact points): dead letters keep no copy
    dead_letter: bool = False

    @property
    def dead_letters(self) -> Topic:
        return Topic(f"{self.name}.dlq", 1, key=self.key, dead_letter=True)


@dataclass(frozen=True)
class TopicPolicy:
    """How long topics keep what they hold, and how many copies; from the environment
    (`ROADBRANCH_KAFKA_…`), so a cluster of three brokers sets `REPLICATION_FACTOR=3` and
    `MIN_INSYNC_REPLICAS=2` without a code change.

    - Event topics keep every event (`retention.ms=-1`): every view (activities', welfare's,
      notify's, the briefing's) is rebuilt by reading its topics from the start, so an event that
      expired would be a fact lost from every rebuilt figure. A county's events are a few MB a year.
    - Dead-letter topics keep a record `dead_letter_retention_days` (90): long enough to notice,
      fix and replay, and not forever, since a dead letter may hold a malformed copy of an event.
    - The compacted contact topic keeps the newest record per driver only, and an erased driver's
      phone for at most `contact_compaction_lag_ms` (1 day) after the next write to its partition:
      the log rolls its segment then (`max.compaction.lag.ms`; Kafka decides a roll when it appends)
      and the cleaner removes what the tombstone replaced. The tombstone stays
      `contact_tombstone_retention_ms` (7 days), so a notify that was down less than that still
      forgets him (the erasure is also on `roster.driver.v1`, kept forever).
    """

    replication_factor: int = 1
    min_insync_replicas: int = 1
    dead_letter_retention_days: int = 90
    contact_compaction_lag_ms: int = DAY_MS
    contact_tombstone_retention_ms: int = 7 * DAY_MS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TopicPolicy:
        env = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for f in fields(cls):
            raw = env.get(f"ROADBRANCH_KAFKA_{f.name.upper()}")
            if raw is None:
                continue
            try:
                values[f.name] = int(raw)
            except ValueError:
                raise ValueError(
                    f"ROADBRANCH_KAFKA_{f.name.upper()} must be a whole number, not {raw!r}"
                ) from None
            if values[f.name] < 1:
                raise ValueError(f"ROADBRANCH_KAFKA_{f.name.upper()} must be at least 1")
        return cls(**values)

    def configs(self, topic: Topic) -> dict[str, str]:
        """The topic-level configs `topic` is created with and kept at."""
        configs = {"min.insync.replicas": str(self.min_insync_replicas)}
        if topic.compacted:
            lag = str(self.contact_compaction_lag_ms)
            configs |= {
                "cleanup.policy": "compact",
                "max.compaction.lag.ms": lag,
                "segment.ms": lag,
                "min.cleanable.dirty.ratio": "0.01",
                "delete.retention.ms": str(self.contact_tombstone_retention_ms),
            }
        elif topic.dead_letter:
            configs |= {
                "cleanup.policy": "delete",
                "retention.ms": str(self.dead_letter_retention_days * DAY_MS),
            }
        else:
            configs |= {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
        return configs


ROSTER_DRIVER = Topic("roster.driver.v1", 6, key="driver id")
ROSTER_MEMBER = Topic("roster.member.v1", 6, key="member id")
ROSTER_ORG = Topic("roster.org.v1", 3, key="organisation id")
# Contact points (phone numbers) travel only here; notify alone reads it; erasure is a tombstone.
ROSTER_CONTACT = Topic("roster.contact.v1", 6, key="driver id", compacted=True, personal=True)
ACTIVITIES_MEETING = Topic("activities.meeting.v1", 6, key="meeting id")
ACTIVITIES_CONTENT = Topic("activities.content.v1", 3, key="content id")
ACTIVITIES_COMPLIANCE = Topic("activities.compliance.v1", 3, key="organisation id")
ACTIVITIES_VENUE = Topic("activities.venue.v1", 1, key="venue id")
WELFARE_NEED = Topic("welfare.need.v1", 6, key="need id")
WELFARE_STATION = Topic("welfare.station.v1", 3, key="station id")
WELFARE_CAMPAIGN = Topic("welfare.campaign.v1", 3, key="campaign id")
NOTIFY_DELIVERY = Topic("notify.delivery.v1", 6, key="delivery id")
# The staff directory's entries without their addresses (which channels a staff member has, whether
# a personal notice can reach him): compacted, the latest entry per staff subject is the state.
NOTIFY_STAFF = Topic("notify.staff.v1", 3, key="staff subject", compacted=True)
# Sign-ins, failures, lockouts and account changes of the identity service: ids and codes only.
IDENTITY_AUDIT = Topic("identity.audit.v1", 3, key="audit record id")

PROJECT_TOPICS: tuple[Topic, ...] = (
    ROSTER_DRIVER,
    ROSTER_MEMBER,
    ROSTER_ORG,
    ROSTER_CONTACT,
    ACTIVITIES_MEETING,
    ACTIVITIES_CONTENT,
    ACTIVITIES_COMPLIANCE,
    ACTIVITIES_VENUE,
    WELFARE_NEED,
    WELFARE_STATION,
    WELFARE_CAMPAIGN,
    NOTIFY_DELIVERY,
    NOTIFY_STAFF,
    IDENTITY_AUDIT,
)


def with_dead_letters(topics: tuple[Topic, ...]) -> tuple[Topic, ...]:
    return tuple(t for topic in topics for t in (topic, topic.dead_letters))


class TopicMismatch(RuntimeError):
    """An existing topic has another partition count than the code expects."""


async def ensure_topics(
    bootstrap: str, topics: tuple[Topic, ...] | None = None, *, policy: TopicPolicy | None = None
) -> list[str]:
    """Create missing topics (and their dead-letter topics) and bring every one's configs to the
    policy (an existing topic keeps its data; only its configs change); return the names created."""
    policy = policy or TopicPolicy.from_env()
    wanted = with_dead_letters(topics if topics is not None else PROJECT_TOPICS)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            new = [
                NewTopic(t.name, t.partitions, policy.replication_factor, topic_configs=policy.configs(t))
                for t in missing
            ]
            # Another process may create one between our list and our create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        # New topics take a moment to show their partitions in the metadata.
        for _ in range(50):
            described = await admin.describe_topics([t.name for t in wanted])
            # A partition counts once it has a leader: producing before that only earns retries.
            counts = {d["topic"]: sum(p["leader"] >= 0 for p in d["partitions"]) for d in described}
            wrong = [
                f"{t.name}: has {counts.get(t.name)}, expected {t.partitions}"
                for t in wanted
                if counts.get(t.name) != t.partitions
            ]
            if not wrong:
                # Every topic, new or not: one created by another process between our list and
                # our create, or by an older version of this code, is brought to the policy too.
                await _apply_configs(admin, wanted, policy)
                return [t.name for t in missing]
            await asyncio.sleep(0.2)
        raise TopicMismatch("topics with the wrong partition count: " + "; ".join(wrong))
    finally:
        await admin.close()


async def _apply_configs(admin: AIOKafkaAdminClient, topics: tuple[Topic, ...], policy: TopicPolicy) -> None:
    answers = await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t.name, configs=policy.configs(t)) for t in topics]
    )
    refused = [
        f"{name}: {message or code}"
        for answer in answers
        for code, message, _, name in answer.resources
        if code
    ]
    if refused:
        raise TopicMismatch("topic configs refused: " + "; ".join(refused))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m roadbranch_shared.topics")
    parser.add_argument("command", choices=["create", "list"])
    parser.add_argument("--bootstrap", default=os.environ.get("ROADBRANCH_KAFKA_BOOTSTRAP", "localhost:9092"))
    args = parser.parse_args(argv)
    if args.command == "list":
        policy = TopicPolicy.from_env()
        for t in with_dead_letters(PROJECT_TOPICS):
            configs = policy.configs(t)
            kept = "compacted" if t.compacted else f"retention.ms={configs['retention.ms']}"
            print(f"{t.name}\t{t.partitions}\t{kept}\tkey: {t.key}")
        return 0
    created = asyncio.run(ensure_topics(args.bootstrap))
    print(f"created {len(created)} topics: {', '.join(created) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
