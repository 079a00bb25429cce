"""The contact-point event roster publishes on `roster.contact.v1`, sealed for its readers."""

from __future__ import annotations

from datetime import datetime

from roadbranch_shared.contracts.roster import ContactPointChanged
from roadbranch_shared.pii import PiiKeys, seal_contact_point


def contact_point_changed(
    keys: PiiKeys,
    driver_id: str,
    *,
    phone: str,
    at: datetime,
    wechat_id: str | None = None,
    preferred: str = "sms",
) -> ContactPointChanged:
    """The event for the readers of `roster.contact.v1`, its contact points sealed for them: no
    phone or WeChat id in clear in the driver's outbox or on Kafka."""
    return ContactPointChanged(
        driver_id=driver_id,
        phone_sealed=seal_contact_point(keys, driver_id, "phone", phone),
        wechat_id_sealed=seal_contact_point(keys, driver_id, "wechat_id", wechat_id) if wechat_id else None,
        preferred_channel=preferred,
        changed_at=at,
    )
