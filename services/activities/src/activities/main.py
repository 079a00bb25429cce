"""The activities process: `uvicorn --factory activities.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.clock import Clock
from roadbranch_shared.documents import Document
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.service import Service
from roadbranch_shared.topics import (
    ACTIVITIES_COMPLIANCE,
    ACTIVITIES_CONTENT,
    ACTIVITIES_MEETING,
    ACTIVITIES_VENUE,
)

from activities.app.wiring import Activities, ActivitiesStores
from activities.entrypoints import (
    compliance_http,
    learning_http,
    meetings_http,
    organisations_http,
    roster_events,
    venues_http,
)
from activities.settings import Settings


def create_app(
    settings: Settings | None = None,
    *,
    stores: ActivitiesStores | None = None,
    clock: Clock | None = None,
    database: AsyncDatabase[Document] | None = None,
) -> FastAPI:
    """The activities app, every part built here from `settings` (ROADBRANCH_* unless given). Tests
    pass `stores` in memory and a `clock` of their own; nothing runs until the lifespan starts."""
    settings = settings or Settings()
    service = Service(
        name="activities",
        settings=settings,
        outbox_collections=("meetings", "contents", "compliance_alerts", "venues"),
        publishes=(ACTIVITIES_MEETING, ACTIVITIES_CONTENT, ACTIVITIES_COMPLIANCE, ACTIVITIES_VENUE),
        description="Activities: learning and organisational life for drivers on the move (搭建学习平台).",
        database=database,
    )
    clock = clock or Clock(controllable=settings.clock_control, runs=False)
    activities = Activities.build(service.db, settings, clock, service.metrics.registry, stores)
    service.app.state.activities = activities

    async def start(_: AsyncDatabase[Document]) -> None:
        service.app.state.figures_task = start_periodically(
            activities.figures.refresh,
            settings.figures_interval_seconds,
            name="activities figures",
            first_after=0,
        )
        service.app.state.scan_task = start_periodically(
            activities.compliance.scan,
            settings.compliance_scan_interval_seconds,
            name="compliance scan",
            once_across=service.period_claims,
        )

    service.on_startup = start
    for subscription in roster_events.subscriptions(activities.membership, settings.consumer_group):
        service.subscribe(subscription)
    service.include(meetings_http.router)
    service.include(meetings_http.mine_router)
    service.include(learning_http.mine_router)
    service.include(learning_http.router)
    service.include(compliance_http.router)
    service.include(organisations_http.router)
    service.include(organisations_http.drivers_router)
    service.include(venues_http.router)
    return service.app
