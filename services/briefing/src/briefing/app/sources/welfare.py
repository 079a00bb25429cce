"""Welfare's events in the view: warm them (暖起来): needs, stations and their stays, campaigns and
their visits and words."""

from __future__ import annotations

from roadbranch_shared.contracts import welfare as wf

from briefing.app.sources.rules import Rule, quote, upsert

RULES: tuple[Rule, ...] = (
    upsert(
        wf.NeedFiled,
        "needs",
        lambda e: e.need_id,
        lambda e: {
            "driver_id": e.driver_id,
            "category": e.category,
            "urgency": e.urgency,
            "filed_at": e.filed_at,
            "status": "open",
        },
    ),
    upsert(
        wf.NeedAssigned,
        "needs",
        lambda e: e.need_id,
        lambda e: {"assigned_at": e.assigned_at, "due_at": e.due_at},
    ),
    upsert(wf.NeedEscalated, "needs", lambda e: e.need_id, lambda e: {"escalated_at": e.escalated_at}),
    upsert(
        wf.NeedResolved,
        "needs",
        lambda e: e.need_id,
        lambda e: {
            "status": "resolved",
            "category": e.category,
            "filed_at": e.filed_at,
            "resolved_at": e.resolved_at,
            "within_target": e.within_target,
        },
    ),
    upsert(
        wf.NeedReopened,
        "needs",
        lambda e: e.need_id,
        lambda e: {"status": "open", "reopened_at": e.reopened_at},
    ),
    upsert(wf.NeedRated, "needs", lambda e: e.need_id, lambda e: {"rating": e.rating}),
    upsert(
        wf.StationOpened,
        "stations",
        lambda e: e.station_id,
        lambda e: {"county": e.county, "name": e.name, "beds": e.beds, "opened_at": e.opened_at},
    ),
    upsert(wf.StationUpdated, "stations", lambda e: e.station_id, lambda e: {"beds": e.beds}),
    upsert(
        wf.StationCheckedIn,
        "stays",
        lambda e: e.stay_id,
        lambda e: {"station_id": e.station_id, "driver_id": e.driver_id, "checked_in_at": e.checked_in_at},
    ),
    upsert(
        wf.CampaignStarted,
        "campaigns",
        lambda e: e.campaign_id,
        lambda e: {
            "kind": e.kind,
            "title": e.title,
            "starts_on": e.starts_on.isoformat(),
            "started_at": e.started_at,
        },
    ),
    upsert(
        wf.CampaignStockReceived,
        "campaigns",
        lambda e: e.campaign_id,
        lambda e: {f"labels.{e.item}": e.label},
        when=lambda e: bool(e.label),
    ),
    upsert(
        wf.CampaignVisitRecorded,
        "visits",
        lambda e: e.visit_id,
        lambda e: {
            "campaign_id": e.campaign_id,
            "driver_id": e.driver_id,
            "member": e.member,
            "items": e.items,
            "solved_need_ids": e.solved_need_ids,
            "visited_at": e.visited_at,
        },
    ),
    # A quote like the meetings' ones, of the 暖起来 part; erased with its speaker like them.
    quote(
        wf.CampaignWordsRecorded,
        lambda e: f"{e.visit_id}:words",
        lambda e: {
            "campaign_id": e.campaign_id,
            "campaign_kind": e.kind,
            "speaker_id": e.driver_id,
            "member": e.member,
            "text": e.text,
            "recorded_at": e.recorded_at,
        },
    ),
)
