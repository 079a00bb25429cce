"""The welfare figures (for the API, the briefing and the dashboards) and the gauges recounted from them.

Each figure is recounted from the documents: needs (a county's hundreds to thousands), stations
(a handful) and campaigns (a few a year) are small enough to read whole.
"""

from __future__ import annotations

import statistics
from collections import Counter as Tally
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.documents import Document

from welfare.app.campaigns import campaign_totals
from welfare.domain.needs import CATEGORIES, OPEN_STATUSES, RESOLVED, age_bucket


class WelfareMetrics:
    """The domain metrics, `roadbranch_welfare_*`, beside the backbone's in the service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.open_needs = Gauge(
            "roadbranch_welfare_open_needs",
            "Open needs by category and age",
            ["category", "age"],
            registry=registry,
        )
        self.resolve_seconds = Histogram(
            "roadbranch_welfare_need_resolve_seconds",
            "Time from filing (or reopening) to resolution, by category",
            ["category"],
            buckets=(3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400),
            registry=registry,
        )
        self.escalations = Counter(
            "roadbranch_welfare_need_escalations",
            "Needs escalated to the group's leader past their response-time target, by category",
            ["category"],
            registry=registry,
        )
        self.occupancy = Gauge(
            "roadbranch_welfare_station_occupancy",
            "Beds in use per station",
            ["station_id"],
            registry=registry,
        )
        self.beds = Gauge(
            "roadbranch_welfare_station_beds", "Beds per station", ["station_id"], registry=registry
        )
        self.items_issued = Gauge(
            "roadbranch_welfare_items_issued",
            "Items handed out in care campaigns, by item",
            ["item"],
            registry=registry,
        )
        self.visits = Gauge(
            "roadbranch_welfare_visits",
            "Care-campaign visits, to members and to non-members",
            ["member"],
            registry=registry,
        )


class WelfareFigures:
    def __init__(self, db: AsyncDatabase[Document], clock: TimeSource, metrics: WelfareMetrics) -> None:
        self.db = db
        self.clock = clock
        self.metrics = metrics

    async def needs(self, since: datetime | None = None, until: datetime | None = None) -> Document:
        """Filed, resolved, median time to resolve by category, share resolved within target, ratings;
        for needs filed in [since, until) when given."""
        needs = [
            n
            async for n in self.db.needs.find({})
            if (since is None or n["filed_at"] >= since) and (until is None or n["filed_at"] < until)
        ]
        resolved = [n for n in needs if n["status"] == RESOLVED]
        ratings = [n["rating"]["rating"] for n in needs if n.get("rating")]
        by_category = {}
        for category in CATEGORIES:
            mine = [n for n in needs if n["category"] == category]
            done = [n["resolution"]["seconds"] for n in resolved if n["category"] == category]
            by_category[category] = {
                "filed": len(mine),
                "resolved": len(done),
                "median_hours_to_resolve": round(statistics.median(done) / 3600, 2) if done else None,
            }
        within = sum(1 for n in resolved if n["resolution"]["within_target"])
        return {
            "filed": len(needs),
            "resolved": len(resolved),
            "open": sum(1 for n in needs if n["status"] in OPEN_STATUSES),
            "escalated": sum(1 for n in needs if n.get("escalations")),
            "reopened": sum(1 for n in needs if n.get("reopen_count")),
            "filed_by_staff": sum(1 for n in needs if n.get("filed_by_staff")),
            "resolved_within_target_share": round(within / len(resolved), 4) if resolved else None,
            "by_category": by_category,
            "ratings": {
                "count": len(ratings),
                "average": round(statistics.mean(ratings), 2) if ratings else None,
                "distribution": {str(k): ratings.count(k) for k in range(1, 6)},
            },
        }

    async def stations(self, month: str | None = None) -> Document:
        """Per station: beds, occupancy now, check-ins and check-outs per month (or one month)."""
        rows = []
        async for s in self.db.stations.find({}, sort=[("_id", 1)]):
            usage: Mapping[str, Any] = s.get("usage", {})
            months = {
                m: {"check_ins": u.get("check_ins", 0), "check_outs": u.get("check_outs", 0)}
                for m, u in sorted(usage.items())
                if month is None or m == month
            }
            rows.append(
                {
                    "station_id": s["_id"],
                    "name": s["name"],
                    "beds": s["amenities"]["beds"],
                    "parking_spaces": s["amenities"]["parking_spaces"],
                    "occupied": s["occupied"],
                    "check_ins": sum(m["check_ins"] for m in months.values()),
                    "months": months,
                }
            )
        return {"stations": rows, "check_ins": sum(r["check_ins"] for r in rows), "month": month}

    async def campaigns(self) -> Document:
        """Per campaign and in total: visits to members and non-members, items by kind, problems solved."""
        rows = []
        items: Tally[str] = Tally()
        async for c in self.db.campaigns.find({}, sort=[("started_at", 1)]):
            totals = campaign_totals(c)
            items.update(totals["items_issued"])
            rows.append(
                {
                    "campaign_id": c["_id"],
                    "kind": c["kind"],
                    "title": c["title"],
                    "status": c["status"],
                    "starts_on": c["starts_on"],
                    "ends_on": c["ends_on"],
                    **totals,
                }
            )
        keys = (
            "visits",
            "visits_to_members",
            "visits_to_non_members",
            "drivers_visited",
            "problems_solved",
            "items_issued_total",
        )
        total = {k: sum(r[k] for r in rows) for k in keys}
        return {"campaigns": rows, "total": {"campaigns": len(rows), **total, "items_issued": dict(items)}}

    async def refresh(self) -> None:
        """Recount the gauges from the documents."""
        now = self.clock.now()
        open_needs: Tally[tuple[str, str]] = Tally()
        async for n in self.db.needs.find(
            {"status": {"$in": list(OPEN_STATUSES)}}, {"category": 1, "filed_at": 1}
        ):
            open_needs[(n["category"], age_bucket(now - n["filed_at"]))] += 1
        self.metrics.open_needs.clear()
        for (category, age), count in open_needs.items():
            self.metrics.open_needs.labels(category, age).set(count)
        async for s in self.db.stations.find({}, {"occupied": 1, "amenities.beds": 1}):
            self.metrics.occupancy.labels(s["_id"]).set(s["occupied"])
            self.metrics.beds.labels(s["_id"]).set(s["amenities"]["beds"])
        figures = await self.campaigns()
        for item, count in figures["total"]["items_issued"].items():
            self.metrics.items_issued.labels(item).set(count)
        self.metrics.visits.labels("true").set(figures["total"]["visits_to_members"])
        self.metrics.visits.labels("false").set(figures["total"]["visits_to_non_members"])
