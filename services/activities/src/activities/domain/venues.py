"""Venues (活动阵地): the places where meetings are held, such as the party member truck drivers'
activity room at the highway maintenance centre, and the instructors (指导员) stationed there to
supervise (蹲点督导). No I/O.

A venue is named by a place's name and its instructors by their staff subjects; neither may carry an
ID or phone number, since both go out on the venue topic and the ids end up in URLs and logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from roadbranch_shared.aggregates import Aggregate
from roadbranch_shared.contracts.activities import VenueRegistered, VenueUpdated
from roadbranch_shared.domain import DomainError
from roadbranch_shared.events import EventPayload
from roadbranch_shared.pii import find_pii

from activities.domain.meetings import VENUE_KINDS, check_person_id


def check_venue_id(venue_id: str) -> None:
    """A venue id is a document `_id` and a Kafka key, and it appears in URLs."""
    check_person_id(venue_id, "venue_id")  # the same rules as any id kept as a key
    if find_pii(venue_id):
        raise DomainError("venue_id", "contains_pii", "场所编号不能含身份证号或手机号", DomainError.INVALID)


def check_name(name: str) -> str:
    """The venue's name, trimmed: a place's name, never a person's number."""
    name = name.strip()
    if not name:
        raise DomainError("name", "required", "场所名称不能为空", DomainError.INVALID)
    if find_pii(name):
        raise DomainError("name", "contains_pii", "场所名称不能含身份证号或手机号", DomainError.INVALID)
    return name


def check_venue_kind(venue_kind: str) -> None:
    if venue_kind not in VENUE_KINDS:
        raise DomainError(
            "venue_kind", "unknown_venue", f"地点类型应为：{'、'.join(VENUE_KINDS)}", DomainError.INVALID
        )


def check_instructors(instructor_ids: Sequence[str]) -> list[str]:
    """The instructors stationed at a venue: staff subjects, each once. A number that looks like an ID
    or phone number is refused (it would be a person's data, not a subject), as a quote's text is."""
    seen: set[str] = set()
    for i, instructor in enumerate(instructor_ids):
        field = f"instructor_ids.{i}"
        check_person_id(instructor, field)
        if find_pii(instructor):
            raise DomainError(
                field,
                "contains_pii",
                "指导员须以工作人员编号登记，不能用身份证号或手机号",
                DomainError.INVALID,
            )
        if instructor in seen:
            raise DomainError(field, "duplicate", "同一名指导员重复出现", DomainError.INVALID)
        seen.add(instructor)
    return list(instructor_ids)


def check_venue(name: str, venue_kind: str, instructor_ids: Sequence[str]) -> str:
    """Everything a new venue needs; its trimmed name."""
    checked = check_name(name)
    check_venue_kind(venue_kind)
    check_instructors(instructor_ids)
    return checked


class Venue(Aggregate):
    """One venue of the directory: `venue.registered` when it joins, `venue.updated` (the venue as it
    is now) after every change; a change to what it already is raises nothing."""

    name: str
    venue_kind: str
    county: str
    instructor_ids: list[str]
    registered_by: str
    registered_at: datetime
    updated_at: datetime
    updated_by: str | None = None

    @classmethod
    def register(
        cls,
        venue_id: str,
        *,
        name: str,
        venue_kind: str,
        county: str,
        instructor_ids: Sequence[str],
        by: str,
        now: datetime,
    ) -> tuple[Venue, list[EventPayload]]:
        check_venue_id(venue_id)
        instructors = list(instructor_ids)
        checked = check_venue(name, venue_kind, instructors)
        venue = cls(
            id=venue_id,
            name=checked,
            venue_kind=venue_kind,
            county=county,
            instructor_ids=instructors,
            registered_by=by,
            registered_at=now,
            updated_at=now,
        )
        registered = VenueRegistered(
            venue_id=venue_id,
            name=checked,
            venue_kind=venue_kind,
            county=county,
            instructor_ids=instructors,
            registered_at=now,
        )
        return venue, [registered]

    def rename(self, name: str, *, by: str, now: datetime) -> list[EventPayload]:
        return self._update({"name": check_name(name)}, by=by, now=now)

    def station(self, instructor_ids: Sequence[str], *, by: str, now: datetime) -> list[EventPayload]:
        """Station exactly these instructors (those left out are withdrawn)."""
        return self._update({"instructor_ids": check_instructors(instructor_ids)}, by=by, now=now)

    def _update(self, wanted: dict[str, Any], *, by: str, now: datetime) -> list[EventPayload]:
        changes = {k: v for k, v in wanted.items() if getattr(self, k) != v}
        if not changes:
            return []  # a repeated PUT writes and publishes nothing
        for name, value in {**changes, "updated_by": by, "updated_at": now}.items():
            setattr(self, name, value)
        updated = VenueUpdated(
            venue_id=self.id,
            name=self.name,
            venue_kind=self.venue_kind,
            county=self.county,
            instructor_ids=self.instructor_ids,
            updated_at=now,
        )
        return [updated]
