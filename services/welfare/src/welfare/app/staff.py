"""Which staff notify can reach (可接收提醒的工作人员), kept from notify's staff-directory events
(`notify.staff.v1`): a subject, the channels he has and whether any of them is set up in notify, never
an address. Assigning a need to someone notify cannot reach is allowed, with a warning in the answer.
"""

from __future__ import annotations

from typing import Protocol

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.consumers import EventSubscription, apply_in_order
from roadbranch_shared.contracts.notify import StaffContactSet
from roadbranch_shared.documents import Document
from roadbranch_shared.events import Envelope
from roadbranch_shared.topics import NOTIFY_STAFF

NO_CONTACT_POINT = "no_contact_point"
NO_USABLE_CHANNEL = "no_usable_channel"


class Staff(Protocol):
    """Which handlers notify can reach: `ReachableStaff` from notify's events, or memory in tests."""

    async def handler_warnings(self, handler_id: str) -> list[Document]: ...


class ReachableStaff:
    """Which staff notify can reach, from its staff directory's events."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    def subscriptions(self, group_id: str) -> list[EventSubscription]:
        directory = EventSubscription(
            NOTIFY_STAFF, group_id=group_id, description="which staff notify can reach"
        )

        @directory.on(StaffContactSet)
        async def contact_set(event: StaffContactSet, envelope: Envelope) -> None:
            await apply_in_order(
                self.db.staff_reach,
                event.subject,
                envelope,
                {"$set": {"channels": event.channels, "reachable": event.reachable, "set_at": event.set_at}},
            )

        return [directory]

    async def handler_warnings(self, handler_id: str) -> list[Document]:
        """Warnings for assigning work to `handler_id`: none if notify can remind him."""
        return handler_warnings(await self.db.staff_reach.find_one({"_id": handler_id}))


def handler_warnings(entry: Document | None) -> list[Document]:
    """The warnings for a handler whose staff-directory entry is `entry` (None: he has none)."""
    if entry is None:
        return [
            {
                "field": "handler_id",
                "reason": NO_CONTACT_POINT,
                "message": "该处理人尚未登记联系方式，将收不到提醒",
            }
        ]
    if not entry.get("reachable"):
        return [
            {
                "field": "handler_id",
                "reason": NO_USABLE_CHANNEL,
                "message": "该处理人登记的联系方式本县通知服务未开通（例如未配置企业微信），将收不到提醒",
            }
        ]
    return []
