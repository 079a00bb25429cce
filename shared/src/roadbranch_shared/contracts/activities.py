"""Events of the activities service (搭建学习平台)."""

from __future__ import annotations

from datetime import datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import ACTIVITIES_MEETING


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
