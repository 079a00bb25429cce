"""Notify's Prometheus metrics, beside the backbone's in the service's registry."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass
class NotifyMetrics:
    registry: CollectorRegistry
    deliveries: Counter = field(init=False)
    duplicates_after_crash: Counter = field(init=False)
    undeliverable: Counter = field(init=False)
    sms_provider_answers: Counter = field(init=False)
    queue_depth: Gauge = field(init=False)
    reminders_pending: Gauge = field(init=False)
    oldest_pending_age: Gauge = field(init=False)

    def __post_init__(self) -> None:
        self.deliveries = Counter(
            "roadbranch_notify_deliveries",
            "Delivery decisions by channel and outcome (sent, retried, failed, fell_back, held, merged, "
            "cancelled)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.duplicates_after_crash = Counter(
            "roadbranch_notify_duplicates_after_crash",
            "Messages sent again after a crash left them in flight, on channels that cannot drop a "
            "repeat (at most one duplicate each)",
            ["channel"],
            registry=self.registry,
        )
        self.undeliverable = Counter(
            "roadbranch_notify_undeliverable",
            "Messages that reached nobody, by reason (no_contact_point: notify knows no way to reach "
            "the recipient; no_channel_left: no configured personal channel; all_channels_failed) and "
            "recipient kind (driver, staff, person: an id known neither as driver nor as staff)",
            ["reason", "recipient_kind"],
            registry=self.registry,
        )
        self.sms_provider_answers = Counter(
            "roadbranch_notify_sms_provider_answers",
            "Each cloud SMS provider's answers by outcome (sent, transient, permanent): a failover "
            "shows as one provider's refusals beside the next one's sends",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "roadbranch_notify_queue_depth",
            "Messages waiting to be sent (due, held for the morning, or waiting for a retry)",
            registry=self.registry,
        )
        self.reminders_pending = Gauge(
            "roadbranch_notify_reminders_pending",
            "Meeting reminders scheduled and not yet fired",
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "roadbranch_notify_oldest_pending_age_seconds",
            "How long the oldest due message has been waiting (0 when none is due)",
            registry=self.registry,
        )
