"""The welfare process: `uvicorn --factory welfare.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.clock import Clock
from roadbranch_shared.documents import Document
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.service import Service
from roadbranch_shared.topics import WELFARE_CAMPAIGN, WELFARE_NEED, WELFARE_STATION

from welfare.app.campaigns import Campaigns
from welfare.app.figures import WelfareFigures, WelfareMetrics
from welfare.app.needs import Needs
from welfare.app.resources import Resources
from welfare.app.stations import Stations
from welfare.app.stores import WelfareStores
from welfare.entrypoints import campaigns_http, figures_http, needs_http, stations_http
from welfare.settings import Settings


def create_app(
    settings: Settings | None = None,
    *,
    stores: WelfareStores | None = None,
    clock: Clock | None = None,
    database: AsyncDatabase[Document] | None = None,
) -> FastAPI:
    """The welfare app, every part built here from `settings` (ROADBRANCH_* unless given). Tests pass
    `stores` in memory and a `clock` of their own; nothing runs until the app's lifespan starts."""
    settings = settings or Settings()
    service = Service(
        name="welfare",
        settings=settings,
        outbox_collections=("needs", "stations", "campaigns"),
        publishes=(WELFARE_NEED, WELFARE_STATION, WELFARE_CAMPAIGN),
        description="Welfare: needs hotline, warm-heart stations and care campaigns (提供精准服务).",
        database=database,
    )
    db = service.db
    metrics = WelfareMetrics(service.metrics.registry)
    clock = clock or Clock(controllable=settings.clock_control)
    stores = stores or WelfareStores.mongo(db)
    for subscription in stores.subscriptions(settings.consumer_group):
        service.subscribe(subscription)
    needs = Needs(
        stores.needs,
        stores.directory,
        clock,
        settings.response_target_hours,
        leader_id=settings.escalation_leader_id,
        on_resolved=lambda category, seconds: metrics.resolve_seconds.labels(category).observe(seconds),
        on_escalated=lambda category: metrics.escalations.labels(category).inc(),
    )
    resources = Resources(db)
    stations = Stations(db, clock, county=settings.county, timezone=settings.local_timezone)
    campaigns = Campaigns(db, clock, stores.drivers)
    figures = WelfareFigures(db, clock, metrics)
    stores.drivers.anonymisers[:] = [needs.anonymise, stations.anonymise, campaigns.anonymise]
    state = service.app.state
    state.clock = clock
    state.drivers = stores.drivers
    state.reachable_staff = stores.staff
    state.needs = needs
    state.resources = resources
    state.stations = stations
    state.campaigns = campaigns
    state.figures = figures

    async def start(_: AsyncDatabase[Document]) -> None:
        if settings.seed_resources:
            await resources.seed()
        state.escalation_task = start_periodically(
            needs.escalate_overdue,
            settings.escalation_scan_seconds,
            name="need escalation scan",
            once_across=service.period_claims,
        )
        state.figures_task = start_periodically(
            figures.refresh, settings.figures_interval_seconds, name="welfare figures", first_after=0
        )

    service.on_startup = start
    service.include(needs_http.router)
    service.include(stations_http.router)
    service.include(campaigns_http.router)
    service.include(figures_http.router)
    return service.app
