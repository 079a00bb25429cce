"""The contact-point event roster publishes on `roster.contact.v1`, sealed for its readers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from roadbranch_shared.contracts.roster import ContactPointChanged
from roadbranch_shared.pii import PiiKeys, decrypt, seal_contact_point


def contact_point_changed(
    keys: PiiKeys,
    driver_id: str,
    *,
    phone: str,
    at: datetime,
    wechat_id: str | None = None,
    preferred: str = "sms",
    quiet_hours: Mapping[str, Any] | None = None,
) -> ContactPointChanged:
    """The event for the readers of `roster.contact.v1`, its contact points sealed for them: no
    phone or WeChat id in clear in the driver's outbox or on Kafka. The topic is compacted (its
    last record per driver is what a new reader learns), so every record says all of it."""
    quiet = quiet_hours or {}
    return ContactPointChanged(
        quiet_hours=quiet.get("mode"),
        quiet_start=quiet.get("start"),
        quiet_end=quiet.get("end"),
        driver_id=driver_id,
        phone_sealed=seal_contact_point(keys, driver_id, "phone", phone),
        wechat_id_sealed=seal_contact_point(keys, driver_id, "wechat_id", wechat_id) if wechat_id else None,
        preferred_channel=preferred,
        changed_at=at,
    )


def stored_preferences(keys: PiiKeys, driver_id: str, contact: Mapping[str, Any] | None) -> dict[str, Any]:
    """The driver's stored choices as `contact_point_changed` takes them, for a record published for
    another reason (a new phone number from a list): it must not reset what he chose."""
    if not contact:
        return {}
    sealed = contact.get("wechat_id")
    return {
        "preferred": contact.get("preferred_channel") or "sms",
        "wechat_id": decrypt(keys, sealed, aad=driver_id) if sealed else None,
        "quiet_hours": contact.get("quiet_hours"),
    }
