"""Care campaigns (送温暖、送健康、送服务): visits to drivers, the stock ledger, and their totals.

A campaign is one document holding its stock ledger and its visits (tens per campaign), so a visit,
the items it hands out and the stock they come from change in one write at the version read:
concurrent visits cannot issue the same items twice, and stock never goes below zero.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.contracts.welfare import (
    CampaignClosed,
    CampaignItemsIssued,
    CampaignStarted,
    CampaignStockReceived,
    CampaignVisitRecorded,
    CampaignWordsRecorded,
)
from roadbranch_shared.documents import Document
from roadbranch_shared.domain import check_consented_words

from welfare.adapters.aggregates import Decision, change, create
from welfare.app.drivers import Drivers, refuse_unless_known
from welfare.domain import campaigns as rules
from welfare.domain.errors import WelfareError
from welfare.domain.needs import check_choice

NO_SUCH_CAMPAIGN = WelfareError("campaign_id", "not_found", "没有这次活动", WelfareError.NOT_FOUND)
# Many visitors may record at once during a campaign day; each retry rereads one small document.
TRIES = 100


class Campaigns:
    def __init__(self, db: AsyncDatabase[Document], clock: TimeSource, drivers: Drivers) -> None:
        self.db = db
        self.clock = clock
        self.drivers = drivers

    async def start(
        self, *, kind: str, title: str, organiser_id: str, starts_on: date, ends_on: date, by: str
    ) -> Document:
        check_choice("kind", kind, rules.KINDS, "kind")
        if ends_on < starts_on:
            raise WelfareError("ends_on", "before_start", "结束日期不能早于开始日期", WelfareError.INVALID)
        now = self.clock.now()
        campaign_id = f"cmp_{uuid.uuid4().hex[:12]}"
        campaign = {
            "_id": campaign_id,
            "kind": kind,
            "title": title,
            "organiser_id": organiser_id,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "status": "open",
            "stock": {},
            "visits": [],
            "started_at": now,
            "started_by": by,
        }
        event = CampaignStarted(
            campaign_id=campaign_id,
            kind=kind,
            title=title,
            organiser_id=organiser_id,
            starts_on=starts_on,
            ends_on=ends_on,
            started_at=now,
        )
        await create(self.db.campaigns, campaign, [event])
        return campaign

    async def get(self, campaign_id: str) -> Document:
        campaign = await self.db.campaigns.find_one({"_id": campaign_id})
        if campaign is None:
            raise NO_SUCH_CAMPAIGN
        return campaign

    async def all(self) -> list[Document]:
        """All campaigns: a county runs a few a year, so a full read is fine."""
        return [c async for c in self.db.campaigns.find({}, sort=[("started_at", 1)])]

    async def receive(self, campaign_id: str, item: str, quantity: int, label: str, *, by: str) -> Document:
        rules.check_item_key("item", item)
        now = self.clock.now()

        def decide(campaign: Document) -> Decision:
            rules.require_open(campaign)
            on_hand = rules.on_hand(campaign["stock"], item) + quantity
            line = f"stock.{item}"
            named = (
                label or (campaign["stock"].get(item) or {}).get("label") or rules.KNOWN_ITEMS.get(item, item)
            )
            event = CampaignStockReceived(
                campaign_id=campaign_id,
                item=item,
                label=named,
                quantity=quantity,
                on_hand=on_hand,
                received_at=now,
            )
            update = {
                "$inc": {f"{line}.received": quantity, f"{line}.issued": 0},
                "$set": {f"{line}.label": named},
                "$push": {"receipts": {"item": item, "quantity": quantity, "at": now, "by": by}},
            }
            return update, [event]

        return (
            await change(self.db.campaigns, campaign_id, decide, missing=NO_SUCH_CAMPAIGN, tries=TRIES)
        ).after

    async def visit(
        self,
        campaign_id: str,
        *,
        driver_id: str,
        visitor_ids: list[str],
        items: dict[str, int],
        solved_need_ids: list[str],
        note: str,
        by: str,
        words: dict[str, Any] | None = None,
    ) -> Document:
        """Record a visit: the driver's membership as the roster's view says now, the items handed
        out (refused whole if any item falls short), the needs solved on the spot, and his own words
        if he agreed to them being kept for the briefing."""
        if words is not None:
            check_consented_words(words["text"], words.get("consent"), prefix="words.")
        await refuse_unless_known(self.db, driver_id)
        for need_id in solved_need_ids:
            need = await self.db.needs.find_one({"_id": need_id}, {"driver_id": 1})
            if need is None or need["driver_id"] != driver_id:
                raise WelfareError(
                    "solved_need_ids", "unknown_need", f"{need_id} 不是这名司机的诉求", WelfareError.INVALID
                )
        member = await self.drivers.is_member(driver_id)
        now = self.clock.now()

        def decide(campaign: Document) -> Decision:
            rules.require_open(campaign)
            rules.check_issue(campaign["stock"], items)
            visit_id = f"{campaign_id}:{len(campaign['visits']) + 1}"
            visit = {
                "visit_id": visit_id,
                "driver_id": driver_id,
                "member": member,
                "visitor_ids": visitor_ids,
                "items": items,
                "solved_need_ids": solved_need_ids,
                "note": note,
                "visited_at": now,
                "by": by,
            }
            kept: Document | None = None
            if words is not None:
                kept = {"text": words["text"], "consent_at": words.get("consent_at") or now}
                visit["words"] = kept
            events: list[Any] = [
                CampaignVisitRecorded(
                    campaign_id=campaign_id,
                    visit_id=visit_id,
                    driver_id=driver_id,
                    member=member,
                    visitor_ids=visitor_ids,
                    items=items,
                    solved_need_ids=solved_need_ids,
                    visited_at=now,
                )
            ]
            if kept is not None:
                events.append(
                    CampaignWordsRecorded(
                        campaign_id=campaign_id,
                        visit_id=visit_id,
                        kind=campaign["kind"],
                        driver_id=driver_id,
                        member=member,
                        text=kept["text"],
                        consent_at=kept["consent_at"],
                        recorded_at=now,
                    )
                )
            update: Document = {"$push": {"visits": visit}}
            if items:
                update["$inc"] = {f"stock.{item}.issued": n for item, n in items.items()}
                stock = campaign["stock"]
                after = {item: rules.on_hand(stock, item) - n for item, n in items.items()}
                events.append(
                    CampaignItemsIssued(
                        campaign_id=campaign_id, visit_id=visit_id, items=items, on_hand=after, issued_at=now
                    )
                )
            return update, events

        changed = await change(self.db.campaigns, campaign_id, decide, missing=NO_SUCH_CAMPAIGN, tries=TRIES)
        visit: Document = changed.events[0].model_dump()
        return {**visit, "note": note, "words": words and {"text": words["text"]}}

    async def close(self, campaign_id: str, *, by: str) -> Document:
        def decide(campaign: Document) -> Decision:
            rules.require_open(campaign)
            now = self.clock.now()
            totals = campaign_totals(campaign)
            event = CampaignClosed(
                campaign_id=campaign_id,
                kind=campaign["kind"],
                visits_to_members=totals["visits_to_members"],
                visits_to_non_members=totals["visits_to_non_members"],
                items_issued=totals["items_issued"],
                problems_solved=totals["problems_solved"],
                closed_at=now,
            )
            return {"$set": {"status": "closed", "closed_at": now, "closed_by": by}}, [event]

        return (
            await change(self.db.campaigns, campaign_id, decide, missing=NO_SUCH_CAMPAIGN, tries=TRIES)
        ).after

    async def anonymise(self, driver_id: str, marker: str) -> int:
        """Erasure: the driver's visits keep their membership, items and solved needs under `marker`;
        the visitors' note about him and his own words go. Reads every campaign (a few a year)."""
        count = 0
        for campaign in await self.all():
            if not any(v["driver_id"] == driver_id for v in campaign["visits"]):
                continue

            def decide(c: Document) -> Decision:
                visits = [
                    {**v, "driver_id": marker, "note": "", "words": None}
                    if v["driver_id"] == driver_id
                    else v
                    for v in c["visits"]
                ]
                return {"$set": {"visits": visits}}, []

            await change(self.db.campaigns, campaign["_id"], decide, missing=NO_SUCH_CAMPAIGN, tries=TRIES)
            count += 1
        return count


def campaign_totals(campaign: Document) -> Document:
    """What the briefing counts for one campaign: visits to members and non-members, the drivers
    visited, items issued by kind, problems solved on the spot."""
    visits = campaign["visits"]
    return {
        "visits": len(visits),
        "visits_to_members": sum(1 for v in visits if v["member"]),
        "visits_to_non_members": sum(1 for v in visits if not v["member"]),
        "drivers_visited": len({v["driver_id"] for v in visits}),
        "items_issued": {item: line["issued"] for item, line in campaign["stock"].items() if line["issued"]},
        "items_issued_total": sum(line["issued"] for line in campaign["stock"].values()),
        "problems_solved": sum(len(v["solved_need_ids"]) for v in visits),
    }
