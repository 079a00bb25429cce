"""Request bodies of the HTTP API: field names in English, unknown fields refused (422 naming them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from roadbranch_shared.instants import IsoAwareDateTime


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ScheduleMeeting(Body):
    organisation_id: str = Field(min_length=1)
    kind: str
    topic: str = Field(min_length=1, max_length=200)
    starts_at: IsoAwareDateTime
    ends_at: IsoAwareDateTime | None = None
    venue_kind: str | None = Field(default=None, description="may be left out for a venue of the directory")
    venue_name: str | None = Field(default=None, max_length=100)
    venue_id: str | None = Field(
        default=None, description="a venue of the directory (e.g. the activity room)"
    )
    mode: str
    host_id: str | None = Field(default=None, description="host or lecturer: a driver id or staff subject")
    audience: str | None = Field(
        default=None,
        description="members | committee | committees",
        json_schema_extra={"enum": ["members", "committee", "committees", None]},
    )
    invitee_ids: list[str] = Field(default_factory=list, description="people invited besides the audience")
    non_voting_ids: list[str] = Field(default_factory=list, description="invitees without a vote (预备党员)")
    oath_renewal: bool = False
    material: str | None = Field(default=None, max_length=20000, description="study material, for make-up")


class RescheduleMeeting(Body):
    starts_at: IsoAwareDateTime
    ends_at: IsoAwareDateTime | None = None
    venue_kind: str | None = None
    venue_name: str | None = Field(default=None, max_length=100)
    mode: str | None = None
    refresh_invitees: bool = Field(default=False, description="resolve the audience again (new members)")


class CancelMeeting(Body):
    reason: str = Field(min_length=1, max_length=500)


class HoldMeeting(Body):
    summary: str = Field(min_length=1, max_length=20000)
    held_at: IsoAwareDateTime | None = Field(default=None, description="defaults to the meeting's start")
    material: str | None = Field(default=None, max_length=20000)


class AttendanceLine(Body):
    person_id: str
    status: str = Field(
        description="on_site | online | leave | absent",
        json_schema_extra={"enum": ["on_site", "online", "leave", "absent"]},
    )
    reason: str | None = Field(default=None, max_length=500)
    proxy: bool = Field(
        default=False, description="recorded on the person's behalf (代为登记): needs a reason"
    )


class RecordAttendance(Body):
    records: list[AttendanceLine] = Field(min_length=1, max_length=1000)


class CheckIn(Body):
    code: str = Field(min_length=1, max_length=12)


class Quote(Body):
    speaker_id: str = Field(min_length=1)
    text: str = Field(min_length=1, max_length=500)
    consent: bool
    consent_at: IsoAwareDateTime | None = None


class PublishContent(Body):
    organisation_id: str | None = Field(default=None, description="None: the whole county")
    audience: Literal["members", "all_drivers"] = Field(
        default="members",
        description="members: the member drivers (of the organisation, or of the county); "
        "all_drivers: every driver of the county, member or not (no organisation)",
    )
    category: str
    title: str = Field(min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=50000)
    url: str | None = Field(default=None, max_length=2000)
    venue_id: str | None = None


class ReadContent(Body):
    confirmed: bool = Field(default=False, description="the driver confirms he studied it (已学)")


class Question(Body):
    category: str
    text: str = Field(min_length=1, max_length=1000)
    options: list[str] = Field(min_length=2, max_length=8)
    answer: int = Field(ge=0, description="index of the right option")


class CreateQuiz(Body):
    meeting_id: str
    title: str = Field(min_length=1, max_length=200)
    purpose: str = Field(pattern="^(knowledge_test|make_up)$")
    pass_mark: int = Field(ge=1, le=100, description="percent")
    question_ids: list[str] = Field(min_length=1, max_length=100)


class Attempt(Body):
    answers: list[int]
    person_id: str | None = Field(default=None, description="staff recording a paper test for someone")


class MakeUp(Body):
    answers: list[int]


class Policy(Body):
    requirements: dict[str, dict[str, Any]]


class RegisterVenue(Body):
    venue_id: str | None = Field(default=None, max_length=64, description='default: a new "ven_…"')
    name: str = Field(min_length=1, max_length=100, description="the place's name, never a person's")
    venue_kind: str = Field(
        description="activity_room | repair_shop | rest_station | online | other",
        json_schema_extra={"enum": ["activity_room", "repair_shop", "rest_station", "online", "other"]},
    )
    instructor_ids: list[str] = Field(default_factory=list, max_length=100, description="staff subjects")


class StationInstructors(Body):
    instructor_ids: list[str] = Field(max_length=100, description="exactly the instructors stationed")


class RenameVenue(Body):
    name: str = Field(min_length=1, max_length=100)


class SetClock(Body):
    now: IsoAwareDateTime | None
