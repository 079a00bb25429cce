"""Roster's events in the view: find them (找出来) and connect them (联起来)."""

from __future__ import annotations

from roadbranch_shared.contracts import roster as rs
from roadbranch_shared.documents import Document
from roadbranch_shared.events import Envelope

from briefing.app.sources.rules import Rule, View, put, upsert


async def _driver_erased(db: View, e: rs.DriverErased, envelope: Envelope) -> None:
    await put(db, "drivers", e.driver_id, envelope, {"erased_at": e.erased_at})
    # His words go with him; the figures (ids and counts) stay. The quotes are few: a scan.
    await db.quotes.delete_many({"speaker_id": e.driver_id})


def _verified(e: rs.MemberVerified) -> Document:
    fields: Document = {
        "driver_id": e.driver_id,
        "status": "verified",
        "verified_at": e.verified_at,
        "method": e.method,
    }
    if e.branch_id:
        fields["branch_id"] = e.branch_id
    return fields


def _seat_ended(e: rs.SeatEnded) -> Document:
    # The committee figures (选优配强委员7名, 配齐支部委员5名) count the seats held in the
    # period, not the seats appointed in it: an end cuts the term short, so the seat stops
    # counting in periods after `term_end` and still counts in the ones it was held in.
    # Field by field, so the seat keeps its `assigned_at`; one the view never saw gets none,
    # and no figure counts a seat it cannot date.
    seat = f"seats.{e.seat_id}"
    return {
        f"{seat}.role": e.role,
        f"{seat}.person_id": e.person_id,
        f"{seat}.term_start": e.term_start.isoformat(),
        f"{seat}.term_end": e.term_end.isoformat(),
        f"{seat}.ended_at": e.ended_at,
    }


RULES: tuple[Rule, ...] = (
    # --- find them (找出来) ---
    upsert(
        rs.DriverRegistered,
        "drivers",
        lambda e: e.driver_id,
        lambda e: {"county": e.county, "source": e.source, "registered_at": e.registered_at},
    ),
    Rule(rs.DriverErased, _driver_erased),
    upsert(
        rs.MemberCandidateFound,
        "members",
        lambda e: e.member_id,
        lambda e: {
            "driver_id": e.driver_id,
            "origin": e.origin,
            "found_at": e.found_at,
            "status": "candidate",
        },
    ),
    upsert(rs.MemberVerified, "members", lambda e: e.member_id, _verified),
    upsert(
        rs.MemberRejected,
        "members",
        lambda e: e.member_id,
        lambda e: {"status": "rejected", "rejected_at": e.rejected_at},
    ),
    upsert(
        rs.MemberTransferredIn,
        "members",
        lambda e: e.member_id,
        lambda e: {"transferred_in_on": e.accepted_on.isoformat(), "branch_id": e.branch_id},
    ),
    upsert(
        rs.MemberAssignedToBranch,
        "members",
        lambda e: e.member_id,
        lambda e: {"branch_id": e.branch_id, "group_id": e.group_id},
    ),
    # --- connect them (联起来) ---
    upsert(
        rs.OrganisationCreated,
        "organisations",
        lambda e: e.organisation_id,
        lambda e: {
            "kind": e.kind,
            "name": e.name,
            "parent_id": e.parent_id,
            "created_at": e.created_at,
            "county": e.county,
        },
    ),
    upsert(
        rs.SeatAssigned,
        "organisations",
        lambda e: e.organisation_id,
        lambda e: {
            f"seats.{e.seat_id}": {
                "role": e.role,
                "person_id": e.person_id,
                "term_start": e.term_start.isoformat(),
                "term_end": e.term_end.isoformat() if e.term_end else None,
                "assigned_at": e.assigned_at,
            }
        },
    ),
    upsert(rs.SeatEnded, "organisations", lambda e: e.organisation_id, _seat_ended),
    upsert(
        rs.PairingAssigned,
        "pairings",
        lambda e: e.pairing_id,
        lambda e: {
            "organisation_id": e.organisation_id,
            "committee_person_id": e.committee_person_id,
            "member_ids": e.member_ids,
            "assigned_at": e.assigned_at,
        },
    ),
)
