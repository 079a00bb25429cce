"""Request bodies of the HTTP API: field names in English, unknown fields refused (422 naming them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool
from roadbranch_shared.instants import IsoAwareDateTime
from roadbranch_shared.plain_text import CONTROL_CLASS
from roadbranch_shared.request_body import JsonInt, RequestBody, one_of

from activities.domain.compliance import PERIODS, REQUIREMENTS
from activities.domain.learning import CATEGORIES
from activities.domain.meetings import ANSWERS, MODES, VENUE_KINDS, Attendance, Kind

# A person id is a key of the attendance map: never empty, no ".", no leading "$" (check_person_id
# refuses them with its own message; the schema says so too).
_NOT_IN_ID = f".{CONTROL_CLASS}"  # nor control characters
PersonId = Annotated[
    str, Field(json_schema_extra={"minLength": 1, "pattern": f"^[^${_NOT_IN_ID}][^{_NOT_IN_ID}]*$"})
]


class Body(RequestBody):
    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ScheduleMeeting(Body):
    # A place is named by its kind, or taken from the venue directory.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"venue_kind": {"type": "string"}}, "required": ["venue_kind"]},
                {"properties": {"venue_id": {"type": "string"}}, "required": ["venue_id"]},
            ]
        }
    )

    organisation_id: str = Field(min_length=1)
    kind: str = Field(json_schema_extra=one_of(Kind.ALL))
    topic: str = Field(min_length=1, max_length=200)
    starts_at: IsoAwareDateTime
    ends_at: IsoAwareDateTime | None = None
    venue_kind: str | None = Field(
        default=None,
        description="may be left out for a venue of the directory",
        json_schema_extra=one_of(VENUE_KINDS, optional=True),
    )
    venue_name: str | None = Field(default=None, max_length=100)
    venue_id: str | None = Field(
        default=None, description="a venue of the directory (e.g. the activity room)"
    )
    mode: str = Field(json_schema_extra=one_of(MODES))
    host_id: str | None = Field(default=None, description="host or lecturer: a driver id or staff subject")
    audience: str | None = Field(
        default=None,
        description="members | committee | committees",
        json_schema_extra={"enum": ["members", "committee", "committees", None]},
    )
    invitee_ids: list[PersonId] = Field(
        default_factory=list, description="people invited besides the audience"
    )
    non_voting_ids: list[PersonId] = Field(
        default_factory=list, description="invitees without a vote (预备党员)"
    )
    oath_renewal: StrictBool = False
    material: str | None = Field(default=None, max_length=20000, description="study material, for make-up")


class RescheduleMeeting(Body):
    starts_at: IsoAwareDateTime
    ends_at: IsoAwareDateTime | None = None
    venue_kind: str | None = Field(default=None, json_schema_extra=one_of(VENUE_KINDS, optional=True))
    venue_name: str | None = Field(default=None, max_length=100)
    mode: str | None = Field(default=None, json_schema_extra=one_of(MODES, optional=True))
    refresh_invitees: StrictBool = Field(
        default=False, description="resolve the audience again (new members)"
    )


class CancelMeeting(Body):
    reason: str = Field(min_length=1, max_length=500)


class HoldMeeting(Body):
    summary: str = Field(min_length=1, max_length=20000)
    held_at: IsoAwareDateTime | None = Field(default=None, description="defaults to the meeting's start")
    material: str | None = Field(default=None, max_length=20000)


class AttendanceLine(Body):
    person_id: PersonId
    status: str = Field(
        description="on_site | online | leave | absent",
        json_schema_extra=one_of(Attendance.ALL),
    )
    reason: str | None = Field(default=None, max_length=500)
    proxy: StrictBool = Field(
        default=False, description="recorded on the person's behalf (代为登记): needs a reason"
    )


class RecordAttendance(Body):
    records: list[AttendanceLine] = Field(min_length=1, max_length=1000)


class Answer(Body):
    """An invitee's own answer to the invitation."""

    status: str = Field(
        description="leave (请假, needs a reason) | online (线上参加, online or hybrid meetings only)",
        json_schema_extra=one_of(ANSWERS),
    )
    reason: str | None = Field(default=None, max_length=500, description="why he asks for leave")


class CheckIn(Body):
    code: str = Field(min_length=1, max_length=12)


class Quote(Body):
    speaker_id: str = Field(min_length=1)
    text: str = Field(min_length=1, max_length=500)
    consent: StrictBool = Field(
        description="the speaker agreed to his words being kept: must be true",
        json_schema_extra={"const": True},
    )
    consent_at: IsoAwareDateTime | None = None


class PublishContent(Body):
    organisation_id: str | None = Field(default=None, description="None: the whole county")
    audience: Literal["members", "all_drivers"] = Field(
        default="members",
        description="members: the member drivers (of the organisation, or of the county); "
        "all_drivers: every driver of the county, member or not (no organisation)",
    )
    category: str = Field(json_schema_extra=one_of(CATEGORIES))
    title: str = Field(min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=50000)
    url: str | None = Field(default=None, max_length=2000)
    venue_id: str | None = None


class ReadContent(Body):
    confirmed: StrictBool = Field(default=False, description="the driver confirms he studied it (已学)")


class Question(Body):
    category: str = Field(json_schema_extra=one_of(CATEGORIES))
    text: str = Field(min_length=1, max_length=1000)
    options: list[str] = Field(min_length=2, max_length=8)
    answer: JsonInt = Field(ge=0, description="index of the right option")


class CreateQuiz(Body):
    meeting_id: str
    title: str = Field(min_length=1, max_length=200)
    purpose: str = Field(pattern="^(knowledge_test|make_up)$")
    pass_mark: JsonInt = Field(ge=1, le=100, description="percent")
    question_ids: list[str] = Field(min_length=1, max_length=100)


class Attempt(Body):
    answers: list[JsonInt]
    person_id: str | None = Field(default=None, description="staff recording a paper test for someone")


class MakeUp(Body):
    answers: list[JsonInt]


class Policy(Body):
    requirements: dict[str, dict[str, Any]] = Field(
        description="requirement -> {period, count}; count 0 switches a requirement off",
        json_schema_extra={
            "propertyNames": one_of(REQUIREMENTS),
            "additionalProperties": {
                "type": "object",
                "required": ["period", "count"],
                "properties": {
                    "period": one_of(PERIODS),
                    "count": {"type": "integer", "minimum": 0},
                },
                "additionalProperties": False,
            },
        },
    )


class RegisterVenue(Body):
    venue_id: str | None = Field(default=None, max_length=64, description='default: a new "ven_…"')
    name: str = Field(min_length=1, max_length=100, description="the place's name, never a person's")
    venue_kind: str = Field(
        description="activity_room | repair_shop | rest_station | online | other",
        json_schema_extra=one_of(VENUE_KINDS),
    )
    instructor_ids: list[PersonId] = Field(
        json_schema_extra={"uniqueItems": True},
        default_factory=list,
        max_length=100,
        description="staff subjects",
    )


class StationInstructors(Body):
    instructor_ids: list[PersonId] = Field(
        json_schema_extra={"uniqueItems": True},
        max_length=100,
        description="exactly the instructors stationed",
    )


class RenameVenue(Body):
    name: str = Field(min_length=1, max_length=100)


class SetClock(Body):
    now: IsoAwareDateTime | None
