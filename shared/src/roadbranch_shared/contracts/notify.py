"""Events of the notify service: outcomes of deliveries, without personal data.

`recipient_driver_id` is the recipient's internal id: a driver id, or a staff principal's subject when
`recipient_kind` is `staff` (or `person`, a committee member known by id only when queued).
`caused_by_event_id` is the event that called for the message, or for a meeting reminder its
reminder key (`reminder:<meeting id>:<minutes before>:<starts at>`).
"""

from __future__ import annotations

from datetime import datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import NOTIFY_DELIVERY, NOTIFY_STAFF


@event_type("roadbranch.notify.delivery.sent.v1", topic=NOTIFY_DELIVERY)
class DeliverySent(EventPayload):
    """A message reached the channel's provider (or the driver's inbox)."""

    delivery_id: str
    recipient_driver_id: str
    channel: str
    template: str
    caused_by_event_id: str
    sent_at: datetime
    recipient_kind: str = "driver"


@event_type("roadbranch.notify.delivery.failed.v1", topic=NOTIFY_DELIVERY)
class DeliveryFailed(EventPayload):
    """A delivery failed for good on one channel (the next channel may still succeed), or no channel
    was left (`channel` none); `reason` is a code such as http_400 or errcode_93000."""

    delivery_id: str
    recipient_driver_id: str
    channel: str
    template: str
    caused_by_event_id: str
    reason: str
    permanent: bool
    failed_at: datetime
    recipient_kind: str = "driver"


@event_type("roadbranch.notify.staff.contact_set.v1", topic=NOTIFY_STAFF)
class StaffContactSet(EventPayload):
    """A staff member's entry in notify's staff directory was set (keyed by his principal's subject).

    Carries no address: only which channels he has one for (`sms`, `email`, `wechat`) and whether
    notify can reach him (`reachable`: a channel this notify has configured among them), so other
    services can warn before they assign him work he would never hear of."""

    subject: str
    channels: list[str]
    reachable: bool
    set_at: datetime
