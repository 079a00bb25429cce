"""Reading the view and computing figures; the pilot-to-date figures as Prometheus gauges.

Each request reads the projected documents (one document per driver, member, meeting, need, ...):
a county's work is thousands of documents, not millions. The gauges are recomputed in the
background, never on a scrape (on FerretDB every read but by _id is a scan).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document, public_fields

from briefing.domain.figures import Figures, View, compute
from briefing.domain.periods import Period, parse_period

COLLECTIONS = (
    "drivers",
    "members",
    "organisations",
    "pairings",
    "meetings",
    "contents",
    "needs",
    "compliance",
    "stations",
    "stays",
    "campaigns",
    "visits",
    "quotes",
    "venues",
)


class FigureBook:
    def __init__(
        self, db: AsyncDatabase[Document], county: str, county_name: str, registry: CollectorRegistry
    ) -> None:
        self.db = db
        self.county = county
        self.county_name = county_name
        self.gauge = Gauge(
            "roadbranch_briefing_figure",
            "The pilot's figures to date, as the briefing states them (key: the breakdown, e.g. a source)",
            ["county", "part", "figure", "key"],
            registry=registry,
        )

    async def view(self) -> View:
        docs: dict[str, Any] = {}
        for name in COLLECTIONS:
            docs[name] = [d async for d in self.db[name].find({}, public_fields())]
        # Deliveries are the one large collection: counted by the database, not read one by one.
        group = {
            "_id": {"county": "$county", "month": "$month", "channel": "$channel", "outcome": "$outcome"}
        }
        pipeline = [{"$group": {**group, "n": {"$sum": 1}}}]
        docs["deliveries"] = [
            {**d["_id"], "n": d["n"]} async for d in await self.db.deliveries.aggregate(pipeline)
        ]
        return View(**docs)

    async def figures(self, period: Period) -> Figures:
        return compute(await self.view(), self.county, period)

    async def refresh(self) -> None:
        figures = await self.figures(parse_period("all"))
        for part, values in figures.as_dict().items():
            if not isinstance(values, dict):
                continue
            for name, value in values.items():
                if isinstance(value, dict):
                    for key, n in value.items():
                        if _is_number(n):  # a breakdown of counts, not of labels (item_labels)
                            self.gauge.labels(self.county, part, name, key).set(n)
                elif _is_number(value):
                    self.gauge.labels(self.county, part, name, "").set(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
