"""Events of the welfare service (提供精准服务).

Drivers are named by their roster `driver_id`, staff by their principal's subject; free text a driver
wrote (a need's description, a comment) never travels on a topic.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import WELFARE_CAMPAIGN, WELFARE_NEED, WELFARE_STATION

# The codes these events carry, with the Chinese names the services show and the briefing prints.
NEED_CATEGORIES = {
    "certificate_review": "证件年审",
    "medical": "看病就医",
    "rights": "权益保障",
    "road_traffic": "道路交通",
    "parking_rest": "停车休息",
    "family_hardship": "家庭困难",
    "other": "其他",
}
CAMPAIGN_KINDS = {"warmth": "送温暖", "health": "送健康", "service": "送服务"}


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


# --- warm-heart stations (暖心之家) -------------------------------------------------------------


@event_type("roadbranch.welfare.station.opened.v1", topic=WELFARE_STATION)
class StationOpened(EventPayload):
    """A rest station joined the directory. Its name is a place's (e.g. a maintenance station's),
    never a person's; the operator's contact stays in the welfare service."""

    station_id: str
    name: str
    county: str
    road: str = ""
    km_marker: float | None = None
    latitude: float
    longitude: float
    beds: int
    parking_spaces: int
    amenities: list[str]
    opened_at: datetime


@event_type("roadbranch.welfare.station.updated.v1", topic=WELFARE_STATION)
class StationUpdated(EventPayload):
    """A station's details changed: which fields, with the bed and parking counts as they are now."""

    station_id: str
    changed: list[str]
    beds: int
    parking_spaces: int
    updated_at: datetime


@event_type("roadbranch.welfare.station.checked_in.v1", topic=WELFARE_STATION)
class StationCheckedIn(EventPayload):
    """A driver checked in to rest; `occupied` counts the beds in use after this check-in."""

    station_id: str
    stay_id: str
    driver_id: str
    occupied: int
    beds: int
    checked_in_at: datetime


@event_type("roadbranch.welfare.station.checked_out.v1", topic=WELFARE_STATION)
class StationCheckedOut(EventPayload):
    """A driver left; `occupied` counts the beds in use after this check-out."""

    station_id: str
    stay_id: str
    driver_id: str
    occupied: int
    checked_in_at: datetime
    checked_out_at: datetime


# --- care campaigns (送温暖、送健康、送服务) -------------------------------------------------------


@event_type("roadbranch.welfare.campaign.started.v1", topic=WELFARE_CAMPAIGN)
class CampaignStarted(EventPayload):
    """A care campaign began. kind: warmth (送温暖) | health (送健康) | service (送服务)."""

    campaign_id: str
    kind: str
    title: str
    organiser_id: str
    starts_on: date
    ends_on: date
    started_at: datetime


@event_type("roadbranch.welfare.campaign.stock_received.v1", topic=WELFARE_CAMPAIGN)
class CampaignStockReceived(EventPayload):
    """Items entered the campaign's stock ledger; `on_hand` is the item's stock after the receipt,
    `label` its Chinese name (e.g. gloves: 手套) for the briefing."""

    campaign_id: str
    item: str
    label: str = ""
    quantity: int
    on_hand: int
    received_at: datetime


@event_type("roadbranch.welfare.campaign.visit_recorded.v1", topic=WELFARE_CAMPAIGN)
class CampaignVisitRecorded(EventPayload):
    """Visitors met a driver; `member` is what the roster's view said at the visit. Problems solved
    on the spot are needs (by id)."""

    campaign_id: str
    visit_id: str
    driver_id: str
    member: bool
    visitor_ids: list[str]
    items: dict[str, int]
    solved_need_ids: list[str] = Field(default_factory=list)
    visited_at: datetime


@event_type("roadbranch.welfare.campaign.words_recorded.v1", topic=WELFARE_CAMPAIGN)
class CampaignWordsRecorded(EventPayload):
    """The visited driver's own words, recorded at the visit with his consent for the briefing (like
    the activities' quotes). The text holds no ID or phone numbers (refused at entry); the speaker is
    named by id only; `kind` is the campaign's, `member` what the roster's view said at the visit."""

    campaign_id: str
    visit_id: str
    kind: str
    driver_id: str
    member: bool
    text: str
    consent_at: datetime
    recorded_at: datetime


@event_type("roadbranch.welfare.campaign.items_issued.v1", topic=WELFARE_CAMPAIGN)
class CampaignItemsIssued(EventPayload):
    """Items left the stock ledger at a visit; `on_hand` is each item's stock afterwards."""

    campaign_id: str
    visit_id: str
    items: dict[str, int]
    on_hand: dict[str, int]
    issued_at: datetime


@event_type("roadbranch.welfare.campaign.closed.v1", topic=WELFARE_CAMPAIGN)
class CampaignClosed(EventPayload):
    """The campaign ended; its totals as recorded."""

    campaign_id: str
    kind: str
    visits_to_members: int
    visits_to_non_members: int
    items_issued: dict[str, int]
    problems_solved: int
    closed_at: datetime
