"""The backbone's Prometheus metrics, one registry per process (domain metrics are added beside them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass
class OutboxMetrics:
    registry: CollectorRegistry
    pending: Gauge = field(init=False)
    oldest_age: Gauge = field(init=False)
    published: Counter = field(init=False)

    def __post_init__(self) -> None:
        self.pending = Gauge(
            "roadbranch_outbox_pending_events",
            "Events written to aggregate outboxes and not yet acknowledged by Kafka",
            registry=self.registry,
        )
        self.oldest_age = Gauge(
            "roadbranch_outbox_oldest_pending_age_seconds",
            "Age of the oldest event still waiting in an outbox",
            registry=self.registry,
        )
        self.published = Counter(
            "roadbranch_outbox_published_events",
            "Events the relay published and removed from outboxes",
            registry=self.registry,
        )


@dataclass
class DeadLetterMetrics:
    registry: CollectorRegistry
    dead_letters: Counter = field(init=False)
    retries: Counter = field(init=False)
    outage_waits: Counter = field(init=False)

    def __post_init__(self) -> None:
        self.dead_letters = Counter(
            "roadbranch_dead_letters",
            "Records sent to a dead-letter topic, by origin topic and reason",
            ["topic", "reason"],
            registry=self.registry,
        )
        self.retries = Counter(
            "roadbranch_consumer_retries",
            "Handler retries after a transient error, by topic",
            ["topic"],
            registry=self.registry,
        )
        self.outage_waits = Counter(
            "roadbranch_consumer_outage_waits",
            "Times a handler waited for the database or Kafka to come back, by topic",
            ["topic"],
            registry=self.registry,
        )


@dataclass
class BackboneMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    outbox: OutboxMetrics = field(init=False)
    dead_letters: DeadLetterMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.outbox = OutboxMetrics(self.registry)
        self.dead_letters = DeadLetterMetrics(self.registry)
