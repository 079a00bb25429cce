"""Events of the activities service (搭建学习平台).

People are named by their roster ids only: `driver_id` for drivers (the key of their contact points
in notify), `member_id` for member records, a staff principal's subject for staff. Kinds, venues and
modes are strings with known constants (see the service's domain), so a new kind never breaks a reader.
"""

from __future__ import annotations

from datetime import date, datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import ACTIVITIES_COMPLIANCE, ACTIVITIES_CONTENT, ACTIVITIES_MEETING


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
