"""Events of the welfare service (提供精准服务)."""

from __future__ import annotations

from datetime import datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import WELFARE_NEED


@event_type("roadbranch.welfare.need.filed.v1", topic=WELFARE_NEED)
class NeedFiled(EventPayload):
    """A driver's need reached the direct line (诉求直通车); the design card's need-filed."""

    need_id: str
    driver_id: str
    category: str
    urgency: str
    filed_at: datetime
    filed_by_staff: bool = False
