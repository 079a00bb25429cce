"""The roster as welfare sees it: one document per driver (member or not, erased or not), kept from
the roster's events, and erasure carried through to what welfare holds about the driver.

Driver and member events come from two roster aggregates with their own sequence numbers, so each
source has its own order field on the one document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.consumers import EventSubscription, apply_in_order
from roadbranch_shared.contracts.roster import DriverErased, DriverRegistered, MemberRejected, MemberVerified
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.events import Envelope
from roadbranch_shared.topics import ROSTER_DRIVER, ROSTER_MEMBER

from welfare.domain.errors import WelfareError

Anonymiser = Callable[[str, str], Awaitable[int]]


def anonymous_marker(envelope: Envelope) -> str:
    """The stand-in for an erased driver's id: the same for all his records (counts of distinct
    drivers stay right), derived from the erasure event so a redelivery repeats it, and not
    derivable from the driver id."""
    return "anon_" + envelope.id.replace("-", "")[:16]


UNKNOWN_DRIVER = WelfareError(
    "driver_id",
    "unknown_driver",
    "暖心服务还不认识这名司机：请先在花名册（roster）登记他；刚登记的司机请稍等片刻再试。",
    WelfareError.NOT_FOUND,
)


async def refuse_unless_known(db: AsyncDatabase[Document], driver_id: str) -> None:
    """Only drivers the roster told welfare about are recorded (a stay, a visit, a need): a made-up
    id would count in welfare's figures and in no one else's. Nothing new is recorded for a driver
    erased, or being erased (from the erasure's first step)."""
    refuse_unless_recorded(await db.drivers.find_one({"_id": driver_id}, {"erased": 1, "erasing": 1}))


def refuse_unless_recorded(view: Document | None) -> None:
    """The rule of `refuse_unless_known` on the driver's view as read."""
    if view is None:
        raise UNKNOWN_DRIVER
    if view.get("erased") or view.get("erasing"):
        raise WelfareError("driver_id", "erased", "这名司机的信息已按申请删除", WelfareError.INVALID)


class Drivers(Protocol):
    """What welfare knows of the roster's drivers: `DriverView` from roster's events, or memory in
    the in-process tests."""

    anonymisers: list[Anonymiser]

    async def view(self, driver_id: str) -> Document | None: ...

    async def is_member(self, driver_id: str) -> bool: ...

    async def catch_up_erasure(self, driver_id: str) -> None: ...


class DriverView:
    """What welfare knows of each driver, from roster's events; `anonymisers` carry an erasure to
    each aggregate."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.anonymisers: list[Anonymiser] = []

    async def view(self, driver_id: str) -> Document | None:
        found: Document | None = await self.db.drivers.find_one({"_id": driver_id})
        return found

    async def is_member(self, driver_id: str) -> bool:
        """Unknown drivers count as non-members: the campaigns serve everyone."""
        view = await self.db.drivers.find_one({"_id": driver_id}, {"member": 1})
        return bool(view and view.get("member"))

    async def catch_up_erasure(self, driver_id: str) -> None:
        """After a write about `driver_id`: if his erasure began meanwhile (the write passed the check
        just before), anonymise again with the erasure's marker, so the new record is covered too."""
        view = await self.db.drivers.find_one({"_id": driver_id}, {"erasing": 1, "anon_marker": 1})
        if view is not None and view.get("erasing") and view.get("anon_marker"):
            for anonymise in self.anonymisers:
                await anonymise(driver_id, view["anon_marker"])

    def subscriptions(self, group_id: str) -> list[EventSubscription]:
        drivers = EventSubscription(ROSTER_DRIVER, group_id=group_id, description="welfare's view of drivers")
        members = EventSubscription(ROSTER_MEMBER, group_id=group_id, description="members among drivers")

        @drivers.on(DriverRegistered)
        async def registered(event: DriverRegistered, envelope: Envelope) -> None:
            await apply_in_order(
                self.db.drivers,
                event.driver_id,
                envelope,
                {"$set": {"registered": True, "county": event.county}, "$setOnInsert": {"member": False}},
                seq_field="driver_seq",
            )

        @drivers.on(DriverErased)
        async def erased(event: DriverErased, envelope: Envelope) -> None:
            # First close the door (new needs, stays and visits for him are refused from here), then
            # anonymise: if this stops half-way, the redelivered event finds the rest (the marker is
            # the same) before the view records the erasure in the driver's order.
            marker = anonymous_marker(envelope)
            await update_if(
                self.db.drivers,
                event.driver_id,
                {},
                {"$set": {"erasing": True, "anon_marker": marker}},
                upsert=True,
            )
            for anonymise in self.anonymisers:
                await anonymise(event.driver_id, marker)
            await apply_in_order(
                self.db.drivers,
                event.driver_id,
                envelope,
                {"$set": {"erased": True, "erased_at": event.erased_at}},
                seq_field="driver_seq",
            )

        @members.on(MemberVerified)
        async def verified(event: MemberVerified, envelope: Envelope) -> None:
            await apply_in_order(
                self.db.drivers, event.driver_id, envelope, {"$set": {"member": True}}, seq_field="member_seq"
            )

        @members.on(MemberRejected)
        async def rejected(event: MemberRejected, envelope: Envelope) -> None:
            await apply_in_order(
                self.db.drivers,
                event.driver_id,
                envelope,
                {"$set": {"member": False}},
                seq_field="member_seq",
            )

        return [drivers, members]
