"""Events of the welfare service (提供精准服务).

Drivers are named by their roster `driver_id`, staff by their principal's subject; free text a driver
wrote (a need's description, a comment) never travels on a topic.
"""

from __future__ import annotations

from datetime import datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import WELFARE_NEED


@event_type("roadbranch.welfare.need.filed.v1", topic=WELFARE_NEED)
class NeedFiled(EventPayload):
    """A driver's need reached the direct line (诉求直通车); the design card's need-filed.

    category: certificate_review | medical | rights | road_traffic | parking_rest | family_hardship |
    other. urgency: low | normal | high | urgent."""

    need_id: str
    driver_id: str
    category: str
    urgency: str
    filed_at: datetime
    filed_by_staff: bool = False


@event_type("roadbranch.welfare.need.matched.v1", topic=WELFARE_NEED)
class NeedMatched(EventPayload):
    """The need was matched to entries of the resource list (资源清单)."""

    need_id: str
    driver_id: str
    resource_ids: list[str]
    matched_at: datetime


@event_type("roadbranch.welfare.need.assigned.v1", topic=WELFARE_NEED)
class NeedAssigned(EventPayload):
    """A handler of the rights-protection group took the need; due_at is its response-time target."""

    need_id: str
    driver_id: str
    category: str
    urgency: str
    handler_id: str
    due_at: datetime
    assigned_at: datetime


@event_type("roadbranch.welfare.need.escalated.v1", topic=WELFARE_NEED)
class NeedEscalated(EventPayload):
    """The need passed its response-time target unresolved: the group's leader is told (urgent)."""

    need_id: str
    driver_id: str
    category: str
    urgency: str
    handler_id: str | None = None
    leader_id: str | None = None
    due_at: datetime
    escalated_at: datetime


@event_type("roadbranch.welfare.need.resolved.v1", topic=WELFARE_NEED)
class NeedResolved(EventPayload):
    """The need was closed with what was done; the driver is asked whether it helped."""

    need_id: str
    driver_id: str
    category: str
    urgency: str
    handler_id: str | None = None
    filed_at: datetime
    resolved_at: datetime
    within_target: bool


@event_type("roadbranch.welfare.need.rated.v1", topic=WELFARE_NEED)
class NeedRated(EventPayload):
    """The driver rated the help (1-5); his comment stays in the welfare service."""

    need_id: str
    driver_id: str
    rating: int
    has_comment: bool = False
    rated_at: datetime


@event_type("roadbranch.welfare.need.reopened.v1", topic=WELFARE_NEED)
class NeedReopened(EventPayload):
    """A closed need was reopened (the driver or staff found it not solved)."""

    need_id: str
    driver_id: str
    category: str
    urgency: str
    reopened_at: datetime
