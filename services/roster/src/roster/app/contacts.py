"""How a driver wants to be reached (phone, WeChat id, preferred channel, his own quiet hours),
published for the notifier on the compacted `roster.contact.v1` — the one topic that may carry
contact points."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document
from roadbranch_shared.outbox import retry_on_conflict, stage_events, update_aggregate
from roadbranch_shared.pii import PiiKeys, decrypt, encrypt

from roster.app.contact_points import contact_point_changed
from roster.app.imports import SOURCE
from roster.app.privacy import NoSuchDriver

CHANNELS = ("sms", "wechat", "email", "inbox")
QUIET_MODES = ("county", "own", "off")
COUNTY_QUIET_HOURS: Document = {"mode": "county", "start": None, "end": None}


class ContactPreferences:
    def __init__(self, db: AsyncDatabase[Document], keys: PiiKeys) -> None:
        self.db = db
        self.keys = keys

    async def set(
        self,
        driver_id: str,
        *,
        preferred_channel: str,
        wechat_id: str | None,
        quiet_hours: Document | None = None,
    ) -> Document:
        """Set how the driver is reached. `quiet_hours` ({mode: county | own | off, start, end}) is
        his own quiet time; None keeps what he chose before (the county's if he never chose)."""

        async def change() -> Document:
            doc = await self.db.drivers.find_one({"_id": driver_id})
            if doc is None or doc.get("status") != "active":
                raise NoSuchDriver(driver_id)
            now = datetime.now(UTC)
            phone = decrypt(self.keys, doc["identity"]["phone"], aad=driver_id)
            quiet = quiet_hours or (doc.get("contact") or {}).get("quiet_hours") or COUNTY_QUIET_HOURS
            event = contact_point_changed(
                self.keys,
                driver_id,
                phone=phone,
                wechat_id=wechat_id,
                preferred=preferred_channel,
                quiet_hours=quiet,
                at=now,
            )
            contact = {
                "preferred_channel": preferred_channel,
                "wechat_id": encrypt(self.keys, wechat_id, aad=driver_id) if wechat_id else None,
                "wechat_id_masked": _mask(wechat_id),
                "quiet_hours": quiet,
                "updated_at": now,
            }
            events = stage_events([event], source=SOURCE, subject=driver_id, from_version=doc["version"])
            await update_aggregate(
                self.db.drivers,
                driver_id,
                expected_version=doc["version"],
                update={"$set": {"contact": contact}},
                events=events,
            )
            return {
                "driver_id": driver_id,
                "preferred_channel": preferred_channel,
                "wechat_id": contact["wechat_id_masked"],
                "quiet_hours": quiet,
            }

        return await retry_on_conflict(change)


def _mask(value: str | None) -> str | None:
    if not value:
        return None
    return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:] if len(value) > 4 else "*" * len(value)
