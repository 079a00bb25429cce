"""Personal data on request: erasure (PIPL deletion) and audited reads of an unmasked identity.

Erasing a driver removes his personal data here and leaves an erased marker; the compacted contact
topic gets a tombstone so the notifier forgets him too. Reading a full ID number is allowed to the
organisation department only, and every such read is written to the audit log.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.aggregates import Decision, change_document
from roadbranch_shared.contracts.roster import DriverErased
from roadbranch_shared.documents import Document
from roadbranch_shared.outbox import retry_on_conflict, stage_events, tombstone_entry, update_aggregate
from roadbranch_shared.pii import PiiKeys, decrypt
from roadbranch_shared.topics import ROSTER_CONTACT

from roster.app.audit import AuditAction, AuditLog
from roster.app.imports import SOURCE
from roster.app.members import member_id_of

# `contact` holds the WeChat id and the preferred channel he gave (contact preferences).
PERSONAL_FIELDS = ("identity", "contact", "household_registration", "location", "plate", "employer")


class NoSuchDriver(LookupError):
    pass


class NoMemberCase(LookupError):
    """A driver erased without a member case: there is no record to forget."""


class Privacy:
    def __init__(self, db: AsyncDatabase[Document], keys: PiiKeys) -> None:
        self.db = db
        self.keys = keys

    async def erase(self, driver_id: str, *, by: str, reason: str, request_reference: str) -> Document:
        """Erase a driver's personal data; idempotent (erasing twice changes nothing more)."""

        async def erase_once() -> Document:
            doc = await self.db.drivers.find_one({"_id": driver_id})
            if doc is None:
                raise NoSuchDriver(driver_id)
            if doc.get("status") == "erased":
                return doc
            # The blind index would let the erased person be recognised again. It goes first, while
            # the identity still names it, so a crash after this point leaves nothing to find him by.
            index = doc.get("identity", {}).get("id_number_index")
            if index:
                await self.db.driver_keys.delete_one({"_id": index})
            now = datetime.now(UTC)
            events = stage_events(
                [DriverErased(driver_id=driver_id, erased_at=now)],
                source=SOURCE,
                subject=driver_id,
                from_version=doc["version"],
            )
            erasure = {"at": now, "by": by, "reason": reason, "request_reference": request_reference}
            update = {
                "$set": {"status": "erased", "erasure": erasure},
                "$unset": dict.fromkeys(PERSONAL_FIELDS, ""),
            }
            await update_aggregate(
                self.db.drivers,
                driver_id,
                expected_version=doc["version"],
                update=update,
                events=events,
                tombstones=[tombstone_entry(ROSTER_CONTACT, driver_id)],
            )
            return doc

        doc = await retry_on_conflict(erase_once)
        if doc.get("status") == "erased":
            # A repeated request, perhaps after a crash: the identity is gone, so any key still
            # naming him is found by his id (a scan, but erasures are rare).
            await self.db.driver_keys.delete_many({"driver_id": driver_id})
        await self._forget_member_record(member_id_of(driver_id))
        erased = await self.db.drivers.find_one({"_id": driver_id})
        assert erased is not None
        return erased

    async def _forget_member_record(self, member_id: str) -> None:
        """The member case keeps its decisions (no personal data) but not the record or notes."""

        def forget(case: Document) -> Decision:
            attempts = [{**a, "notes": ""} for a in case.get("attempts", [])]
            return {"$set": {"record": None, "attempts": attempts, "driver_erased": True}}, []

        with contextlib.suppress(NoMemberCase):  # no case was ever opened for him
            await change_document(self.db.members, member_id, forget, source=SOURCE, missing=NoMemberCase())

    async def read_identity(self, driver_id: str, *, subject: str, role: str, purpose: str) -> Document:
        """The unmasked name, ID number and phone; the read is audited before anything is returned."""
        doc = await self.db.drivers.find_one({"_id": driver_id})
        if doc is None or doc.get("status") != "active":
            raise NoSuchDriver(driver_id)
        await AuditLog(self.db).record(
            AuditAction.READ_IDENTITY,
            driver_id=driver_id,
            subject=subject,
            role=role,
            purpose=purpose,
            fields=["name", "id_number", "phone"],
        )
        identity = doc["identity"]
        return {
            "driver_id": driver_id,
            "name": decrypt(self.keys, identity["name"], aad=driver_id),
            "id_number": decrypt(self.keys, identity["id_number"], aad=driver_id),
            "phone": decrypt(self.keys, identity["phone"], aad=driver_id),
        }
