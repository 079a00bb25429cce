"""Building the organisation tree (健全组织体系): organisations (their committee seats are in
`roster.app.seats`), members assigned to branches, and N+1 pairings (结对帮带) with their contact
log and overdue reminders.

Every aggregate is read by `_id` (FerretDB scans a collection for any other filter): a parent keeps
its children's ids and a branch its members' ids, so no query needs a secondary field.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.aggregates import Decision, change_document, create_document
from roadbranch_shared.contracts.roster import (
    MemberAssignedToBranch,
    OrganisationCreated,
    PairingAssigned,
    PairingContactOverdue,
)
from roadbranch_shared.documents import Document

from roster.app.imports import SOURCE
from roster.domain.members import CaseStatus
from roster.domain.organisation import (
    Kind,
    OrgError,
    check_parent,
    current_seats,
    overdue_members,
    warnings_for,
)

NO_SUCH_ORGANISATION = OrgError("organisation_id", "not_found", "没有这个组织", "not_found")
NO_SUCH_MEMBER = OrgError("member_id", "not_found", "没有这名党员", "not_found")
NO_SUCH_PAIRING = OrgError("pairing_id", "not_found", "没有这个结对", "not_found")


class Organisations:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        pairing_overdue_after_days: int = 30,
        default_county: str = "meigu",
    ) -> None:
        self.db = db
        self.overdue_after_days = pairing_overdue_after_days
        self.default_county = default_county

    async def create(
        self, *, kind: str, name: str, parent_id: str | None, by: str, county: str | None = None
    ) -> Document:
        parent = await self.organisation(parent_id, field="parent_id") if parent_id else None
        check_parent(kind, parent["kind"] if parent else None)
        if parent is not None:
            if county and county != parent.get("county", self.default_county):
                raise OrgError("county", "not_parent_county", "下级组织与上级组织须属同一县", "invalid")
            county = parent.get("county", self.default_county)
        county = county or self.default_county
        org_id = f"org_{uuid.uuid4().hex[:16]}"
        now = datetime.now(UTC)
        created = OrganisationCreated(
            organisation_id=org_id, kind=kind, name=name, parent_id=parent_id, created_at=now, county=county
        )
        doc: Document = {
            "_id": org_id,
            "kind": kind,
            "name": name,
            "county": county,
            "parent_id": parent_id,
            "children": [],
            "seats": [],
            "member_ids": [],
            "pairing_ids": [],
            "created_by": by,
            "created_at": now,
        }
        await create_document(self.db.organisations, doc, [created], source=SOURCE)
        # Written after the child: a crash in between leaves a child its parent does not list yet.
        if parent_id:
            await self._touch(self.db.organisations, parent_id, {"$addToSet": {"children": org_id}})
        return await self.organisation(org_id)

    async def organisation(self, org_id: str, *, field: str = "organisation_id") -> Document:
        org = await self.db.organisations.find_one({"_id": org_id})
        if org is None:
            raise OrgError(field, "not_found", "没有这个组织", "not_found")
        return org

    async def listing(self) -> list[Document]:
        """Every organisation, id, kind, name, parent and member count, parents first (by depth)."""
        found = self.db.organisations.find({}, {"kind": 1, "name": 1, "parent_id": 1, "member_ids": 1})
        orgs = {doc["_id"]: doc async for doc in found}

        def depth(org: Document) -> int:
            seen, level, parent = set(), 0, org.get("parent_id")
            while parent in orgs and parent not in seen:
                seen.add(parent)
                level, parent = level + 1, orgs[parent].get("parent_id")
            return level

        return [
            {
                "organisation_id": org["_id"],
                "kind": org["kind"],
                "name": org["name"],
                "parent_id": org.get("parent_id"),
                "members": len(org.get("member_ids", [])),
            }
            for org in sorted(orgs.values(), key=lambda o: (depth(o), o["name"]))
        ]

    async def view(self, org_id: str) -> Document:
        """The organisation with its rule-of-thumb warnings."""
        return await self.view_of(await self.organisation(org_id))

    async def view_of(self, org: Document) -> Document:
        """`view` of an organisation document already read (or just written)."""
        org_id = org["_id"]
        full = 0
        for member_id in org.get("member_ids", []):
            member = await self.db.members.find_one({"_id": member_id}, {"branch_id": 1, "record": 1})
            if member and member.get("branch_id") == org_id:
                full += (member.get("record") or {}).get("party_status") == "full"
        seats = current_seats(org["seats"], datetime.now(UTC).date())
        return {**org, "warnings": [w.as_dict() for w in warnings_for(org["kind"], len(seats), full)]}

    async def branch(self, branch_id: str) -> Document:
        """The branch a member is placed in: 404 or 422 naming `branch_id` if it is none."""
        branch = await self.organisation(branch_id, field="branch_id")
        if branch["kind"] != Kind.BRANCH:
            raise OrgError("branch_id", "not_a_branch", "须分配到党支部")
        return branch

    async def placed(self, member_id: str, branch_id: str, previous: str | None) -> None:
        """Bookkeeping after a member was placed in `branch_id`: the branch lists him, the old one lets go."""
        await self._touch(self.db.organisations, branch_id, {"$addToSet": {"member_ids": member_id}})
        if previous and previous != branch_id:
            await self._touch(self.db.organisations, previous, {"$pull": {"member_ids": member_id}})

    async def assign_member(self, member_id: str, *, branch_id: str, group_id: str | None) -> Document:
        """Assign a verified member to a branch (and a party group of it); the old branch lets go."""
        await self.branch(branch_id)
        if group_id:
            group = await self.organisation(group_id, field="group_id")
            if group["kind"] != Kind.PARTY_GROUP or group["parent_id"] != branch_id:
                raise OrgError("group_id", "not_in_branch", "党小组须属于所分配的党支部")

        def decide(member: Document) -> Decision:
            if member["status"] != CaseStatus.VERIFIED:
                raise OrgError("member_id", "not_verified", "只有经核实的党员才能编入支部", "conflict")
            event = MemberAssignedToBranch(
                member_id=member_id,
                driver_id=member["driver_id"],
                branch_id=branch_id,
                group_id=group_id,
                assigned_at=datetime.now(UTC),
            )
            return {"$set": {"branch_id": branch_id, "group_id": group_id}}, [event]

        changed = await change_document(
            self.db.members, member_id, decide, source=SOURCE, missing=NO_SUCH_MEMBER
        )
        previous = changed.before.get("branch_id")
        await self.placed(member_id, branch_id, previous)
        return await self._member(member_id)

    async def create_pairing(self, org_id: str, *, person_id: str, member_ids: list[str]) -> Document:
        org = await self.organisation(org_id)
        if not any(
            s["person_id"] == person_id for s in current_seats(org["seats"], datetime.now(UTC).date())
        ):
            raise OrgError("committee_person_id", "not_on_committee", "结对的须是该组织的在任委员")
        for member_id in member_ids:
            if (await self._member(member_id, field="member_ids"))["status"] != CaseStatus.VERIFIED:
                raise OrgError("member_ids", "not_verified", "只能与经核实的党员结对")
        pairing_id = f"pair_{uuid.uuid4().hex[:16]}"
        now = datetime.now(UTC)
        event = PairingAssigned(
            organisation_id=org_id,
            pairing_id=pairing_id,
            committee_person_id=person_id,
            member_ids=member_ids,
            assigned_at=now,
        )
        doc = {
            "_id": pairing_id,
            "organisation_id": org_id,
            "committee_person_id": person_id,
            "member_ids": member_ids,
            "assigned_at": now,
            "contacts": [],
            "last_contacts": {},
            "overdue_raised": {},
        }
        await create_document(self.db.pairings, doc, [event], source=SOURCE)
        await self._touch(self.db.organisations, org_id, {"$addToSet": {"pairing_ids": pairing_id}})
        return await self.pairing(pairing_id)

    async def pairings_in(self, org_id: str) -> list[Document]:
        """The organisation's N+1 pairings, oldest first, each with its contact log."""
        org = await self.organisation(org_id)
        gate = asyncio.Semaphore(8)  # by _id, as everywhere here (see the module docstring)

        async def pairing(pairing_id: str) -> Document | None:
            async with gate:
                return await self.db.pairings.find_one({"_id": pairing_id})

        found = await asyncio.gather(*(pairing(p) for p in org.get("pairing_ids", [])))
        return sorted((p for p in found if p is not None), key=lambda p: (p["assigned_at"], p["_id"]))

    async def pairing(self, pairing_id: str) -> Document:
        pairing = await self.db.pairings.find_one({"_id": pairing_id})
        if pairing is None:
            raise NO_SUCH_PAIRING
        return pairing

    async def log_contact(
        self, pairing_id: str, *, member_id: str, channel: str, at: datetime, notes: str, by: str
    ) -> Document:
        """Record a contact; it resets the pair's overdue reminder and the member's last contact."""
        contact = {"member_id": member_id, "channel": channel, "at": at, "notes": notes, "by": by}
        pairing = await self.pairing(pairing_id)
        if member_id not in pairing["member_ids"]:
            raise OrgError("member_id", "not_in_pairing", "该党员不在此结对中")
        await self._touch(
            self.db.pairings,
            pairing_id,
            {
                "$push": {"contacts": contact},
                "$max": {f"last_contacts.{member_id}": at},
                "$unset": {f"overdue_raised.{member_id}": ""},
            },
        )
        await self._touch(self.db.members, member_id, {"$max": {"last_contact_at": at}})
        return await self.pairing(pairing_id)

    async def find_overdue_pairings(self, as_of: datetime) -> list[Document]:
        """Raise PairingContactOverdue once per overdue (pairing, member); the raised items."""
        raised: list[Document] = []
        # A scan by nature: every pairing is looked at once per run (ids first: we write as we go).
        for pairing_id in [p["_id"] async for p in self.db.pairings.find({}, {"_id": 1})]:

            def decide(pairing: Document, pairing_id: str = pairing_id) -> Decision:
                items = overdue_members(pairing, as_of, self.overdue_after_days)
                events = [
                    PairingContactOverdue(
                        organisation_id=pairing["organisation_id"],
                        pairing_id=pairing_id,
                        committee_person_id=pairing["committee_person_id"],
                        member_id=item.member_id,
                        last_contact_at=item.last_contact_at,
                        raised_at=as_of,
                    )
                    for item in items
                ]
                return {
                    "$set": {f"overdue_raised.{i.member_id}": as_of for i in items}
                } if items else {}, events

            changed = await change_document(
                self.db.pairings, pairing_id, decide, source=SOURCE, missing=NO_SUCH_PAIRING
            )
            raised.extend(e.model_dump(mode="json") for e in changed.events)
        return raised

    async def _member(self, member_id: str, *, field: str = "member_id") -> Document:
        member = await self.db.members.find_one({"_id": member_id})
        if member is None:
            raise OrgError(field, "not_found", "没有这名党员", "not_found")
        return member

    async def _touch(
        self, collection: AsyncCollection[Document], doc_id: str, update: Mapping[str, Any]
    ) -> None:
        """An update that publishes nothing (bookkeeping), retried on a version conflict."""
        missing = OrgError("id", "not_found", "记录不存在", "not_found")
        await change_document(collection, doc_id, lambda _: (update, []), source=SOURCE, missing=missing)
