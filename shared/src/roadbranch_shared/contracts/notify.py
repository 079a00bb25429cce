"""Events of the notify service: outcomes of deliveries, without personal data."""

from __future__ import annotations

from datetime import datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import NOTIFY_DELIVERY


@event_type("roadbranch.notify.delivery.sent.v1", topic=NOTIFY_DELIVERY)
class DeliverySent(EventPayload):
    delivery_id: str
    recipient_driver_id: str
    channel: str
    template: str
    caused_by_event_id: str
    sent_at: datetime


@event_type("roadbranch.notify.delivery.failed.v1", topic=NOTIFY_DELIVERY)
class DeliveryFailed(EventPayload):
    delivery_id: str
    recipient_driver_id: str
    channel: str
    template: str
    caused_by_event_id: str
    reason: str
    permanent: bool
    failed_at: datetime
