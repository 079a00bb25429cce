"""How a driver wants to be reached (phone, WeChat id, preferred channel, his own quiet hours),
published for the notifier on the compacted `roster.contact.v1` — the one topic that may carry
contact points."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.aggregates import Decision, change_document
from roadbranch_shared.documents import Document
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

        made: list[Document] = []

        def change(doc: Document) -> Decision:
            if doc.get("status") != "active":
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
            made[:] = [
                {
                    "driver_id": driver_id,
                    "preferred_channel": preferred_channel,
                    "wechat_id": contact["wechat_id_masked"],
                    "quiet_hours": quiet,
                }
            ]
            return {"$set": {"contact": contact}}, [event]

        await change_document(
            self.db.drivers, driver_id, change, source=SOURCE, missing=NoSuchDriver(driver_id)
        )
        return made[0]


def _mask(value: str | None) -> str | None:
    if not value:
        return None
    return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:] if len(value) > 4 else "*" * len(value)
