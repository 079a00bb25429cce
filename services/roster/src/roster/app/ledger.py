"""The member ledger (一人一档): organisation-relation transfers into the mobile branch (动员党员"回家"),
the one-person file, and lost-contact cases (失联党员).

The rules are pure functions at the top (unit-tested without servers); `Ledger` applies them to the
`members` aggregates, writing only through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.aggregates import Decision, DocumentChanged, change_document
from roadbranch_shared.contracts.roster import MemberAssignedToBranch, MemberContactLost, MemberTransferredIn
from roadbranch_shared.documents import Document

from roster.app.imports import SOURCE
from roster.domain.members import CaseError, CaseStatus, Outcome

SCAN_PAGE = 200
NO_SUCH_MEMBER = CaseError("member_id", "not_found", "没有这名党员", CaseError.NOT_FOUND)


class TransferStatus:
    REQUESTED = "requested"  # 介绍信已开具，等待接收
    ACCEPTED = "accepted"  # 已转入流动党支部
    RETURNED = "returned"  # 退回


# --- rules -------------------------------------------------------------------------------------


def open_transfer(member: Mapping[str, Any]) -> Document | None:
    """The member's transfer still waiting for an answer, if any."""
    return next((t for t in member.get("transfers", []) if t["status"] == TransferStatus.REQUESTED), None)


def can_request_transfer(member: Mapping[str, Any]) -> None:
    """Only a verified member can be brought home, once: one open request, none after an acceptance."""
    if member["status"] != CaseStatus.VERIFIED:
        raise CaseError("member_id", "not_verified", "只有已认定的党员才能转接组织关系")
    if open_transfer(member) is not None:
        raise CaseError("member_id", "transfer_open", "已有一份待接收的组织关系转接")
    if any(t["status"] == TransferStatus.ACCEPTED for t in member.get("transfers", [])):
        raise CaseError("member_id", "already_transferred", "组织关系已转入流动党支部")


def transfer_to_answer(
    member: Mapping[str, Any], transfer_id: str, answered_on: date, field: str
) -> Document:
    """The requested transfer an acceptance or a return answers; the answer cannot predate the letter."""
    transfer = next((t for t in member.get("transfers", []) if t["transfer_id"] == transfer_id), None)
    if transfer is None:
        raise CaseError("transfer_id", "not_found", "没有这份组织关系转接", CaseError.NOT_FOUND)
    if transfer["status"] != TransferStatus.REQUESTED:
        raise CaseError("transfer_id", "transfer_closed", "这份组织关系转接已经办结")
    if answered_on < date.fromisoformat(transfer["requested_on"]):
        raise CaseError(field, "before_request", "日期不能早于介绍信开具日期", CaseError.INVALID)
    return transfer


def last_contact(member: Mapping[str, Any]) -> datetime | None:
    """The latest contact with the member: `last_contact_at`, or any attempt that reached him."""
    reached = [a["at"] for a in member.get("attempts", []) if a["outcome"] != Outcome.UNREACHABLE]
    known = [t for t in (member.get("last_contact_at"), *reached) if t is not None]
    return max(known, default=None)


def contact_lost(member: Mapping[str, Any], as_of: datetime, after: timedelta) -> bool:
    """A verified member nobody has reached for `after`, with no open case, is lost contact.

    Without any contact the clock starts at the verification decision; a resolved case restarts
    it, so one resolution is not followed at once by the same case again.
    """
    if member.get("status") != CaseStatus.VERIFIED:
        return False
    case = member.get("lost_contact") or {}
    if case.get("status") == "open":
        return False
    since = last_contact(member) or (member.get("decision") or {}).get("at")
    if since is None:
        return False
    if case.get("resolved_at") is not None:
        since = max(since, case["resolved_at"])
    return bool(as_of - since > after)


# --- use cases ---------------------------------------------------------------------------------


class Ledger:
    def __init__(self, db: AsyncDatabase[Document], *, lost_contact_after: timedelta) -> None:
        self.db = db
        self.lost_contact_after = lost_contact_after

    async def member(self, member_id: str) -> Document:
        member = await self.db.members.find_one({"_id": member_id})
        if member is None:
            raise NO_SUCH_MEMBER
        return member

    async def request_transfer(
        self, member_id: str, *, letter_number: str, from_organisation: str, requested_on: date, by: str
    ) -> Document:
        made: list[Document] = []

        def decide(member: Document) -> Decision:
            can_request_transfer(member)
            transfer = {
                "transfer_id": f"trf_{len(member.get('transfers', [])) + 1}",
                "status": TransferStatus.REQUESTED,
                "letter_number": letter_number,
                "from_organisation": from_organisation,
                # Dates as ISO text: BSON has no date-only type.
                "requested_on": requested_on.isoformat(),
                "requested_by": by,
                "requested_at": datetime.now(UTC),
            }
            made[:] = [transfer]
            return {"$push": {"transfers": transfer}}, []

        await self._change(member_id, decide)
        return made[0]

    async def accept_transfer(
        self, member_id: str, transfer_id: str, *, accepted_on: date, branch_id: str, by: str
    ) -> tuple[Document, str | None]:
        """Accept the transfer and place the member in the receiving branch, in one write:
        `member.transferred_in` and `member.assigned` together. Returns the answered transfer and
        the branch he was in before (for the organisations' bookkeeping)."""

        made: list[Document] = []

        def decide(member: Document) -> Decision:
            transfer = transfer_to_answer(member, transfer_id, accepted_on, "accepted_on")
            answered = {
                **transfer,
                "status": TransferStatus.ACCEPTED,
                "accepted_on": accepted_on.isoformat(),
                "branch_id": branch_id,
                "answered_by": by,
            }
            events = [
                MemberTransferredIn(
                    member_id=member_id,
                    driver_id=member["driver_id"],
                    branch_id=branch_id,
                    from_organisation=transfer["from_organisation"],
                    accepted_on=accepted_on,
                ),
                MemberAssignedToBranch(
                    member_id=member_id,
                    driver_id=member["driver_id"],
                    branch_id=branch_id,
                    group_id=None,
                    assigned_at=datetime.now(UTC),
                ),
            ]
            made[:] = [answered]
            return answering(member, answered, {"branch_id": branch_id, "group_id": None}), events

        changed = await self._change(member_id, decide)
        return made[0], changed.before.get("branch_id")

    async def return_transfer(
        self, member_id: str, transfer_id: str, *, returned_on: date, reason: str, by: str
    ) -> Document:
        made: list[Document] = []

        def decide(member: Document) -> Decision:
            transfer = transfer_to_answer(member, transfer_id, returned_on, "returned_on")
            answered = {
                **transfer,
                "status": TransferStatus.RETURNED,
                "returned_on": returned_on.isoformat(),
                "reason": reason,
                "answered_by": by,
            }
            made[:] = [answered]
            return answering(member, answered), []

        await self._change(member_id, decide)
        return made[0]

    async def pairings_of(self, member_id: str) -> list[Document]:
        """The N+1 pairs the member is in, as a member or as the committee person."""
        query = {"$or": [{"member_ids": member_id}, {"committee_person_id": member_id}]}
        return [p async for p in self.db.pairings.find(query, sort=[("_id", 1)])]

    async def find_lost_contact(self, as_of: datetime) -> list[str]:
        """Raise MemberContactLost for each verified member out of contact; the ids raised."""
        raised: list[str] = []
        after = ""
        while True:
            page = [
                m
                async for m in self.db.members.find(
                    {"_id": {"$gt": after}}, sort=[("_id", 1)], limit=SCAN_PAGE
                )
            ]
            if not page:
                return raised
            after = page[-1]["_id"]
            for member in page:
                if contact_lost(member, as_of, self.lost_contact_after) and await self._raise_lost_contact(
                    member["_id"], as_of
                ):
                    raised.append(member["_id"])

    async def resolve_lost_contact(self, member_id: str, *, note: str, by: str) -> Document:
        """Close the open case: a person's decision; the member's status stays as it is."""

        made: list[Document] = []

        def decide(member: Document) -> Decision:
            case = member.get("lost_contact") or {}
            if case.get("status") != "open":
                raise CaseError("member_id", "no_open_case", "这名党员没有未办结的失联情况")
            closed = {
                **case,
                "status": "resolved",
                "resolved_at": datetime.now(UTC),
                "resolved_by": by,
                "note": note,
            }
            made[:] = [closed]
            return {"$set": {"lost_contact": closed}}, []

        await self._change(member_id, decide)
        return made[0]

    async def _raise_lost_contact(self, member_id: str, as_of: datetime) -> bool:
        def decide(member: Document) -> Decision:
            # Re-checked on the fresh read: a concurrent scan may have raised it already.
            if not contact_lost(member, as_of, self.lost_contact_after):
                return {}, []
            event = MemberContactLost(
                member_id=member_id,
                driver_id=member["driver_id"],
                last_contact_at=last_contact(member),
                raised_at=as_of,
            )
            update: Document = {"$set": {"lost_contact": {"raised_at": as_of, "status": "open"}}}
            if member.get("lost_contact"):
                update["$push"] = {"lost_contact_history": member["lost_contact"]}
            return update, [event]

        return bool((await self._change(member_id, decide)).events)

    async def _change(self, member_id: str, decide: Callable[[Document], Decision]) -> DocumentChanged:
        return await change_document(
            self.db.members, member_id, decide, source=SOURCE, missing=NO_SUCH_MEMBER
        )


def answering(member: Document, answered: Document, also: Mapping[str, Any] | None = None) -> Document:
    """The update that replaces one transfer with its answer (and sets `also`)."""
    transfers = [answered if t["transfer_id"] == answered["transfer_id"] else t for t in member["transfers"]]
    return {"$set": {"transfers": transfers, **(also or {})}}
