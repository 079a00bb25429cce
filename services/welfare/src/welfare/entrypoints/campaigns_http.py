"""HTTP API of the care campaigns (送温暖、送健康、送服务): campaigns, stock, visits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field, StrictBool
from roadbranch_shared.documents import public
from roadbranch_shared.instants import IsoAwareDateTime, IsoDate
from roadbranch_shared.request_body import JsonInt, RequestBody, one_of

from welfare.app.campaigns import Campaigns, campaign_totals
from welfare.domain.campaigns import ITEM_KEY, KINDS
from welfare.entrypoints.errors import Officers, run_command

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])


def campaigns_of(request: Request) -> Campaigns:
    campaigns: Campaigns = request.app.state.campaigns
    return campaigns


def campaign_view(campaign: dict[str, Any]) -> dict[str, Any]:
    view = public(campaign, "campaign_id")
    view["stock"] = {
        item: {**line, "on_hand": line["received"] - line["issued"]}
        for item, line in campaign["stock"].items()
    }
    view["totals"] = campaign_totals(campaign)
    return view


class CampaignIn(RequestBody):
    kind: str = Field(description=" | ".join(KINDS), json_schema_extra=one_of(KINDS))
    title: str = Field(min_length=2, max_length=100)
    organiser_id: str = Field(min_length=1, max_length=64, description="the organising body's id")
    starts_on: IsoDate
    ends_on: IsoDate


class StockIn(RequestBody):
    item: str = Field(
        min_length=1,
        max_length=40,
        description="e.g. gloves, heatstroke_relief, epidemic_supplies",
        json_schema_extra={"pattern": ITEM_KEY.pattern},
    )
    quantity: JsonInt = Field(gt=0, le=100000)
    label: str = Field(default="", max_length=50, description="the item's Chinese name")


class WordsIn(RequestBody):
    text: str = Field(min_length=2, max_length=300, description="the driver's own words, as he said them")
    consent: StrictBool = Field(
        description="he agreed to his words being kept for the county's briefing: must be true",
        json_schema_extra={"const": True},
    )
    consent_at: IsoAwareDateTime | None = Field(
        default=None, description="when he agreed (with its time zone); the visit's time if absent"
    )


class VisitIn(RequestBody):
    driver_id: str = Field(min_length=1, max_length=64)
    visitor_ids: list[str] = Field(min_length=1, max_length=20)
    items: dict[str, JsonInt] = Field(
        default_factory=dict,
        description="item -> quantity handed out",
        json_schema_extra={"propertyNames": {"pattern": ITEM_KEY.pattern}},
    )
    solved_need_ids: list[str] = Field(default_factory=list, max_length=20)
    note: str = Field(default="", max_length=1000)
    words: WordsIn | None = Field(default=None, description="his own words, kept only with his consent")


@router.post("", status_code=201)
async def start(request: Request, body: CampaignIn, principal: Officers) -> dict[str, Any]:
    campaign = await run_command(campaigns_of(request).start(**body.model_dump(), by=principal.subject))
    return campaign_view(campaign)


@router.get("")
async def list_campaigns(request: Request, _: Officers) -> dict[str, Any]:
    return {"campaigns": [campaign_view(c) for c in await campaigns_of(request).all()]}


@router.get("/{campaign_id}")
async def get_campaign(request: Request, campaign_id: str, _: Officers) -> dict[str, Any]:
    return campaign_view(await run_command(campaigns_of(request).get(campaign_id)))


@router.post("/{campaign_id}/stock")
async def receive(request: Request, campaign_id: str, body: StockIn, principal: Officers) -> dict[str, Any]:
    """Items received into the campaign's stock ledger."""
    campaign = await run_command(
        campaigns_of(request).receive(campaign_id, body.item, body.quantity, body.label, by=principal.subject)
    )
    return campaign_view(campaign)


@router.post("/{campaign_id}/visits", status_code=201)
async def visit(request: Request, campaign_id: str, body: VisitIn, principal: Officers) -> dict[str, Any]:
    """Record a visit and the items handed out; 409 `insufficient_stock` naming the item when short.
    The driver's words need his consent (422 `words.consent`) and may hold no ID or phone number
    (422 `words.text`); a refused visit records nothing."""
    fields = body.model_dump(exclude={"words"})
    words = body.words.model_dump() if body.words else None
    visit = await run_command(
        campaigns_of(request).visit(campaign_id, **fields, words=words, by=principal.subject)
    )
    await request.app.state.drivers.catch_up_erasure(body.driver_id)
    return visit


@router.post("/{campaign_id}/close")
async def close(request: Request, campaign_id: str, principal: Officers) -> dict[str, Any]:
    return campaign_view(await run_command(campaigns_of(request).close(campaign_id, by=principal.subject)))
