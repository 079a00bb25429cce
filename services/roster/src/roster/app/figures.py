"""The roster's figures as Prometheus gauges (drivers by source, members by status), refreshed
in the background: counting on every scrape would make each scrape a scan on FerretDB."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from pymongo.asynchronous.database import AsyncDatabase

from roster.domain.drivers import DriverSource
from roster.domain.members import CaseStatus


class RosterFigures:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], registry: CollectorRegistry) -> None:
        self.db = db
        self.drivers = Gauge(
            "roadbranch_roster_drivers",
            "Drivers on the roster (not erased), by list source",
            ["source"],
            registry=registry,
        )
        self.members = Gauge(
            "roadbranch_roster_members",
            "Verification cases by status (candidate, verified, rejected)",
            ["status"],
            registry=registry,
        )

    async def refresh(self) -> None:
        for source in DriverSource.ALL:
            n = await self.db.drivers.count_documents({"status": "active", "sources.source": source})
            self.drivers.labels(source).set(n)
        for status in (CaseStatus.CANDIDATE, CaseStatus.VERIFIED, CaseStatus.REJECTED):
            self.members.labels(status).set(await self.db.members.count_documents({"status": status}))
