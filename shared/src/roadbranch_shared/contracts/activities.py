"""Events of the activities service (搭建学习平台).

People are named by their roster ids only: `driver_id` for drivers (the key of their contact points
in notify), `member_id` for member records, a staff principal's subject for staff. Kinds, venues and
modes are strings with known constants (see the service's domain), so a new kind never breaks a reader.
"""

from __future__ import annotations

from datetime import date, datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import (
    ACTIVITIES_COMPLIANCE,
    ACTIVITIES_CONTENT,
    ACTIVITIES_MEETING,
    ACTIVITIES_VENUE,
)


@event_type("roadbranch.activities.meeting.scheduled.v1", topic=ACTIVITIES_MEETING)
class MeetingScheduled(EventPayload):
    """A meeting or lesson was scheduled: what the notifier needs for reminders, never names or phones.

    kind: branch_member_meeting | branch_committee_meeting | party_group_meeting | party_lesson |
    theme_party_day | training_class | organisational_life. venue_kind: activity_room | repair_shop |
    rest_station | online | other. mode: offline | online | hybrid."""

    meeting_id: str
    organisation_id: str
    kind: str
    title: str  # what the meeting is about (主题); not `topic`, which names the Kafka topic
    starts_at: datetime
    ends_at: datetime | None = None
    venue_kind: str
    venue_name: str | None = None
    mode: str
    host_id: str | None = None
    invitee_driver_ids: list[str]
    scheduled_at: datetime


@event_type("roadbranch.activities.meeting.rescheduled.v1", topic=ACTIVITIES_MEETING)
class MeetingRescheduled(EventPayload):
    """A scheduled meeting moved (time, venue or invitees): pending reminders move with it."""

    meeting_id: str
    organisation_id: str
    kind: str
    title: str  # what the meeting is about (主题); not `topic`, which names the Kafka topic
    starts_at: datetime
    ends_at: datetime | None = None
    previous_starts_at: datetime
    venue_kind: str
    venue_name: str | None = None
    mode: str
    invitee_driver_ids: list[str]
    rescheduled_at: datetime


@event_type("roadbranch.activities.meeting.cancelled.v1", topic=ACTIVITIES_MEETING)
class MeetingCancelled(EventPayload):
    """A scheduled meeting will not take place: pending reminders are withdrawn."""

    meeting_id: str
    organisation_id: str
    kind: str
    reason: str
    cancelled_at: datetime


@event_type("roadbranch.activities.meeting.held.v1", topic=ACTIVITIES_MEETING)
class MeetingHeld(EventPayload):
    """Any meeting took place (party lessons publish lesson-held as well), with its attendance figures."""

    meeting_id: str
    organisation_id: str
    kind: str
    held_at: datetime
    venue_kind: str
    mode: str
    host_id: str | None = None
    oath_renewal: bool = False
    invited: int
    present_on_site: int
    present_online: int
    on_leave: int
    absent: int
    quorum_met: bool | None = None  # member meetings only


@event_type("roadbranch.activities.lesson.held.v1", topic=ACTIVITIES_MEETING)
class LessonHeld(EventPayload):
    """A party lesson (党课) took place; the design card's lesson-held."""

    meeting_id: str
    organisation_id: str
    held_at: datetime
    venue_kind: str
    lecturer_id: str | None = None
    present: int
    invited: int


@event_type("roadbranch.activities.content.published.v1", topic=ACTIVITIES_CONTENT)
class ContentPublished(EventPayload):
    """A learning item was published (离乡不离党、流动不流学). organisation_id None means every driver;
    otherwise the members of that organisation. category: theory_policy | road_safety | laws_regulations
    | other."""

    content_id: str
    organisation_id: str | None = None
    category: str
    title: str
    published_at: datetime
    # The drivers it is pushed to, fixed at publication (the read rate's denominator), so the
    # notifier needs no membership view of its own.
    audience_driver_ids: list[str] | None = None
    county: str | None = None  # the publishing deployment's county (for items to every driver)


@event_type("roadbranch.activities.compliance.overdue.v1", topic=ACTIVITIES_COMPLIANCE)
class ComplianceOverdue(EventPayload):
    """A period of the 三会一课 policy is about to close without its required meeting: the branch
    secretary is told. requirement is a meeting kind, or `secretary_lecture`."""

    organisation_id: str
    requirement: str
    period: str  # e.g. 2026-11, 2026-Q4, 2026
    period_end: date
    held: int
    required: int
    raised_at: datetime


@event_type("roadbranch.activities.attendance.recorded.v1", topic=ACTIVITIES_MEETING)
class AttendanceRecorded(EventPayload):
    """One person's attendance of a meeting was recorded or changed. status: on_site | online | leave |
    absent. way: check_in (the driver's own one-time code) | recorded (by the host, secretary or
    instructor) | proxy (on the person's behalf, with a reason) | closing (absent when the meeting was
    held without a record). person_id is a driver id or a staff subject, never a name."""

    meeting_id: str
    organisation_id: str
    kind: str
    person_id: str
    status: str
    way: str
    recorded_by: str
    recorded_at: datetime


@event_type("roadbranch.activities.makeup.completed.v1", topic=ACTIVITIES_MEETING)
class MakeUpCompleted(EventPayload):
    """An absent or on-leave person made the meeting up (补学): studied the material and passed its quiz
    within the make-up window."""

    meeting_id: str
    organisation_id: str
    kind: str
    person_id: str
    previous_status: str
    quiz_id: str
    score: int
    completed_at: datetime


@event_type("roadbranch.activities.quiz.passed.v1", topic=ACTIVITIES_MEETING)
class QuizPassed(EventPayload):
    """A person passed a quiz (knowledge test) attached to a meeting, for the first time. purpose:
    knowledge_test (e.g. of a training class) | make_up."""

    meeting_id: str
    organisation_id: str
    kind: str
    quiz_id: str
    purpose: str
    person_id: str
    score: int
    pass_mark: int
    passed_at: datetime


@event_type("roadbranch.activities.quote.recorded.v1", topic=ACTIVITIES_MEETING)
class QuoteRecorded(EventPayload):
    """An attendee's own words after a meeting, recorded with the speaker's consent for the briefing.
    The text holds no ID or phone numbers (refused at entry); the speaker is named by id only."""

    meeting_id: str
    organisation_id: str
    kind: str
    quote_id: str
    speaker_id: str
    text: str
    consent_at: datetime
    recorded_at: datetime


@event_type("roadbranch.activities.quote.withdrawn.v1", topic=ACTIVITIES_MEETING)
class QuoteWithdrawn(EventPayload):
    """The speaker took back his consent to his words (in the driver app): the text is gone from the
    meeting, and the briefing no longer quotes it. Once per quote."""

    meeting_id: str
    organisation_id: str
    kind: str
    quote_id: str
    speaker_id: str
    withdrawn_at: datetime


@event_type("roadbranch.activities.content.read.v1", topic=ACTIVITIES_CONTENT)
class ContentRead(EventPayload):
    """A driver opened a learning item for the first time, or confirmed he studied it (confirmed)."""

    content_id: str
    organisation_id: str | None = None
    driver_id: str
    confirmed: bool
    read_at: datetime


@event_type("roadbranch.activities.venue.registered.v1", topic=ACTIVITIES_VENUE)
class VenueRegistered(EventPayload):
    """A place where meetings are held joined the directory: the activity room at the highway
    maintenance centre (党员货车司机活动室), a repair shop, a rest station. `instructor_ids` are the
    staff subjects of the instructors (指导员) stationed there, never names."""

    venue_id: str
    name: str  # a place's name, never a person's
    venue_kind: str  # activity_room | repair_shop | rest_station | online | other
    county: str
    instructor_ids: list[str]
    registered_at: datetime


@event_type("roadbranch.activities.venue.updated.v1", topic=ACTIVITIES_VENUE)
class VenueUpdated(EventPayload):
    """A venue changed (its name or the instructors stationed there): the venue as it is now."""

    venue_id: str
    name: str
    venue_kind: str
    county: str
    instructor_ids: list[str]
    updated_at: datetime
