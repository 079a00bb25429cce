"""Notify's own view of who can be reached and how: drivers' contact points (from the compacted
`roster.contact.v1`), the staff directory, organisations with their members and secretary seats.

Everything is keyed by _id (driver id, staff subject, organisation id), the one lookup FerretDB
answers from an index. Contact points are personal data: they are stored encrypted (AES-GCM with the
shared PII key, bound to the collection, the person and the field), leave this module only towards a
provider, and the API shows them masked.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.events import Envelope
from roadbranch_shared.pii import PiiDecryptError, PiiKeys, decrypt, encrypt, open_contact_point

from notify.domain.channels import Channel, Recipient
from notify.domain.rules import Audience, AudienceKind
from notify.domain.seats import secretary_on

log = logging.getLogger(__name__)


class RecipientKind:
    DRIVER = "driver"
    STAFF = "staff"
    PERSON = "person"  # a driver or staff: known only when the message is sent


class RecipientView:
    def __init__(self, db: AsyncDatabase[Document], keys: PiiKeys) -> None:
        self.db = db
        self.keys = keys

    def _seal(self, collection: str, owner: str, field: str, value: str | None) -> str | None:
        return encrypt(self.keys, value, aad=f"notify/{collection}/{owner}/{field}") if value else None

    def _open(self, collection: str, doc: Document, field: str) -> str | None:
        """The address, or None if there is none or it does not open (another key, a value written
        before encryption): that channel is then not used, and the message goes by the next one."""
        value = doc.get(field)
        if not value:
            return None
        try:
            return decrypt(self.keys, value, aad=f"notify/{collection}/{doc['_id']}/{field}")
        except PiiDecryptError:
            log.warning(
                "a stored contact point does not decrypt", extra={"collection": collection, "field": field}
            )
            return None

    def opened(self, driver_id: str, field: str, sealed: str | None, plain: str | None) -> str | None:
        """A contact point as roster sent it: sealed with the shared contact key, or in clear in
        records written before sealing. One that does not open (another key) raises, so the record
        is retried and dead-lettered with the reason rather than stored as no address at all."""
        if sealed:
            return open_contact_point(self.keys, driver_id, field, sealed)
        return plain

    # ---- projections of roster events

    async def contact_changed(
        self, driver_id: str, envelope: Envelope, *, phone: str | None, wechat_id: str | None, preferred: str
    ) -> bool:
        """A newer contact point replaces the stored one; an erased driver stays erased. The driver's
        own quiet hours come with it (optional fields of the event, read from its data)."""
        newer = {"$or": [{"seq": {"$exists": False}}, {"seq": {"$lt": envelope.seq}}]}
        data = envelope.data
        update = {
            "$set": {
                "phone": self._seal("contacts", driver_id, "phone", phone),
                "wechat_id": self._seal("contacts", driver_id, "wechat_id", wechat_id),
                "preferred_channel": preferred,
                "quiet_hours": {
                    "mode": data.get("quiet_hours") or "county",
                    "start": data.get("quiet_start"),
                    "end": data.get("quiet_end"),
                },
                "seq": envelope.seq,
                "changed_at": envelope.time,
            }
        }
        return await update_if(
            self.db.contacts, driver_id, {"$and": [newer, {"erased": {"$ne": True}}]}, update, upsert=True
        )

    async def erase(self, driver_id: str, at: datetime, seq: int | None = None) -> None:
        """The driver was erased (a tombstone or DriverErased): forget how to reach him and what his
        inbox held, for good. Pending messages to him are cancelled when they come due."""
        update: dict[str, Any] = {
            "$set": {"erased": True, "erased_at": at},
            "$unset": {"phone": "", "wechat_id": "", "preferred_channel": "", "quiet_hours": ""},
        }
        if seq is not None:
            update["$set"]["seq"] = seq
        await update_if(self.db.contacts, driver_id, {}, update, upsert=True)
        await self.db.inboxes.delete_one({"_id": driver_id})
        await self.place(driver_id, [])
        await self.db.placements.delete_one({"_id": driver_id})

    async def place(self, driver_id: str, organisation_ids: list[str]) -> None:
        """The driver now belongs to these organisations (a branch and maybe a party group in it)."""
        placement = await self.db.placements.find_one({"_id": driver_id})
        before = set(placement["organisations"]) if placement else set()
        after = set(organisation_ids)
        for left in before - after:
            await update_if(self.db.organisations, left, {}, {"$pullAll": {"members": [driver_id]}})
        for joined in after:
            await update_if(
                self.db.organisations, joined, {}, {"$addToSet": {"members": driver_id}}, upsert=True
            )
        if organisation_ids:
            await self.db.placements.update_one(
                {"_id": driver_id}, {"$set": {"organisations": sorted(after)}}, upsert=True
            )

    async def organisation_created(self, organisation_id: str, name: str, kind: str) -> None:
        await update_if(
            self.db.organisations, organisation_id, {}, {"$set": {"name": name, "kind": kind}}, upsert=True
        )

    async def secretary_seated(
        self, organisation_id: str, seat_id: str, seat: Document, envelope: Envelope
    ) -> None:
        """A secretary seat (书记) was assigned: its holder is `secretary_id` (the one seated last, as
        the API shows it), and the seat with its term decides whom a notice reaches on a day."""
        update = {
            "$set": {
                "secretary_id": seat["person_id"],
                "secretary_seat_id": seat_id,
                f"secretary_seats.{seat_id}": {**seat, "seq": envelope.seq},
            }
        }
        await update_if(
            self.db.organisations, organisation_id, _newer_seat_event(seat_id, envelope), update, upsert=True
        )

    async def secretary_seat_ended(
        self, organisation_id: str, seat_id: str, seat: Document, envelope: Envelope
    ) -> None:
        """A secretary's term ended (任期结束、免职): his seat stops counting after `term_end`, and
        `secretary_id` no longer names him (a successor seated since then stays). A seat notify never
        saw is kept from the end event, which holds all of it."""
        org = await self.db.organisations.find_one(
            {"_id": organisation_id}, {"secretary_id": 1, "secretary_seat_id": 1}
        )
        update: dict[str, Any] = {"$set": {f"secretary_seats.{seat_id}": {**seat, "seq": envelope.seq}}}
        # Documents written before seats were kept name the person only.
        if (
            org
            and org.get("secretary_id") == seat["person_id"]
            and org.get("secretary_seat_id", seat_id) == seat_id
        ):
            update["$unset"] = {"secretary_id": "", "secretary_seat_id": ""}
        await update_if(
            self.db.organisations, organisation_id, _newer_seat_event(seat_id, envelope), update, upsert=True
        )

    async def organisation_name(self, organisation_id: str | None) -> str | None:
        if organisation_id is None:
            return None
        doc = await self.db.organisations.find_one({"_id": organisation_id})
        return doc.get("name") if doc else None

    # ---- the staff directory is written by notify.app.staff (an aggregate with an outbox)

    # ---- lookups

    async def recipient(self, recipient_id: str, kind: str) -> Recipient | None:
        """How to reach someone now; None if notify knows no way (a person with no contact point)."""
        if kind != RecipientKind.STAFF:
            contact = await self.db.contacts.find_one({"_id": recipient_id})
            if contact is not None:
                if contact.get("erased"):
                    return Recipient(recipient_id, RecipientKind.DRIVER, erased=True)
                addresses = {
                    Channel.SMS: self._open("contacts", contact, "phone"),
                    Channel.WECHAT: self._open("contacts", contact, "wechat_id"),
                    Channel.INBOX: recipient_id,
                }
                return Recipient(
                    recipient_id,
                    RecipientKind.DRIVER,
                    preferred=contact.get("preferred_channel"),
                    addresses={c: a for c, a in addresses.items() if a},
                    quiet_hours=contact.get("quiet_hours"),
                )
        if kind != RecipientKind.DRIVER:
            staff = await self.db.staff.find_one({"_id": recipient_id})
            return self.staff_recipient(staff) if staff is not None else None
        # A driver whose contact point has not reached notify yet can still read his inbox.
        return Recipient(recipient_id, RecipientKind.DRIVER, addresses={Channel.INBOX: recipient_id})

    def staff_recipient(self, staff: Document) -> Recipient:
        """A staff directory entry as a recipient, its addresses opened."""
        addresses = {
            Channel.SMS: self._open("staff", staff, "phone"),
            Channel.EMAIL: self._open("staff", staff, "email"),
            Channel.WECHAT: self._open("staff", staff, "wechat_id"),
        }
        return Recipient(
            staff["_id"],
            RecipientKind.STAFF,
            preferred=staff.get("preferred_channel"),
            addresses={c: a for c, a in addresses.items() if a},
        )

    async def audience(
        self, audience: Audience, batch_size: int, *, on: date
    ) -> AsyncIterator[tuple[str, list[str]]]:
        """The audience's recipient ids in batches, with the kind of recipient they are; `on` is the
        local day, which decides whose term a seat is in."""
        if audience.kind in (AudienceKind.DRIVERS, AudienceKind.PEOPLE):
            kind = RecipientKind.DRIVER if audience.kind == AudienceKind.DRIVERS else RecipientKind.PERSON
            ids = list(dict.fromkeys(audience.ids))
            for start in range(0, len(ids), batch_size):
                yield kind, ids[start : start + batch_size]
        elif audience.kind == AudienceKind.ORGANISATION_MEMBERS:
            org = await self.db.organisations.find_one({"_id": audience.organisation_id})
            members = sorted(org.get("members", [])) if org else []
            for start in range(0, len(members), batch_size):
                yield RecipientKind.DRIVER, members[start : start + batch_size]
        elif audience.kind == AudienceKind.ORGANISATION_SECRETARY:
            secretary = await self._secretary_of(audience.organisation_id, on)
            if secretary:
                yield RecipientKind.PERSON, [secretary]
        elif audience.kind == AudienceKind.SECRETARIES_OF_DRIVERS:
            if secretaries := await self._secretaries_of_drivers(audience.ids, on):
                yield RecipientKind.PERSON, secretaries
        elif audience.kind == AudienceKind.ALL_DRIVERS:
            async for batch in self._all_drivers(batch_size):
                yield RecipientKind.DRIVER, batch

    async def _all_drivers(self, batch_size: int) -> AsyncIterator[list[str]]:
        batch: list[str] = []
        async for doc in self.db.contacts.find({}, {"_id": 1, "erased": 1}):
            if doc.get("erased"):
                continue
            batch.append(doc["_id"])
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    async def _secretaries_of_drivers(self, driver_ids: tuple[str, ...], on: date) -> list[str]:
        """The secretaries of every organisation the drivers are placed in, each once."""
        secretaries: dict[str, None] = {}
        for driver_id in dict.fromkeys(driver_ids):
            placement = await self.db.placements.find_one({"_id": driver_id}) or {}
            for organisation_id in placement.get("organisations", []):
                if secretary := await self._secretary_of(organisation_id, on):
                    secretaries[secretary] = None
        return list(secretaries)

    async def _secretary_of(self, organisation_id: str | None, on: date) -> str | None:
        """Whom the organisation's secretary seat holds on the local day `on`."""
        org = await self.db.organisations.find_one({"_id": organisation_id}) or {}
        seats = org.get("secretary_seats")
        # Documents written before seats were kept name the secretary only.
        found = secretary_on(seats.values(), on) if seats else org.get("secretary_id")
        return str(found) if found else None

    async def erased(self, driver_id: str) -> bool:
        doc = await self.db.contacts.find_one({"_id": driver_id})
        return bool(doc and doc.get("erased"))


def _newer_seat_event(seat_id: str, envelope: Envelope) -> dict[str, Any]:
    """The seat's events apply in the organisation's order: a redelivered or republished older one
    (an assignment arriving again after the end) changes nothing."""
    seq = f"secretary_seats.{seat_id}.seq"
    return {"$or": [{seq: {"$exists": False}}, {seq: {"$lt": envelope.seq}}]}


def masked_recipient(recipient: Recipient) -> Document:
    """What staff may see of a recipient: which channels work, the addresses masked."""
    from roadbranch_shared.pii import mask_phone

    shown: dict[str, str] = {}
    for channel, address in recipient.addresses.items():
        if channel == Channel.SMS:
            shown[channel] = mask_phone(address)
        elif channel == Channel.INBOX:
            shown[channel] = address
        else:
            domain = address[address.index("@") :] if "@" in address else ""
            shown[channel] = address[:2] + "***" + domain
    return {
        "recipient_id": recipient.recipient_id,
        "kind": recipient.kind,
        "erased": recipient.erased,
        "preferred_channel": recipient.preferred,
        "addresses": shown,
        "quiet_hours": recipient.quiet_hours,
    }
