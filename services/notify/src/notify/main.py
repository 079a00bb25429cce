"""The notify process: `uvicorn --factory notify.main:create_app`."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.pii import PiiKeys
from roadbranch_shared.service import Service
from roadbranch_shared.topics import NOTIFY_DELIVERY, NOTIFY_STAFF

from notify.adapters.clock_store import restore_clock
from notify.app.metrics import NotifyMetrics
from notify.app.notifier import Notifier
from notify.entrypoints.events import subscriptions
from notify.entrypoints.http import router
from notify.settings import Settings


def create_app(
    settings: Settings | None = None,
    *,
    keys: PiiKeys | None = None,
    database: AsyncDatabase[Document] | None = None,
) -> FastAPI:
    """The notify app, every part built here from `settings` (ROADBRANCH_* unless given). Contact
    points are stored encrypted: without `keys` they are read from ROADBRANCH_PII_* now, when the
    process builds its app, and a missing key stops it naming the variable."""
    settings = settings or Settings()
    keys = keys or PiiKeys.from_env()
    keys.require_contact_key()  # the contact points on roster.contact.v1 are sealed with it
    service = Service(
        name="notify",
        settings=settings,
        outbox_collections=("deliveries", "staff"),
        publishes=(NOTIFY_DELIVERY, NOTIFY_STAFF),
        description="Notify: reminders to drivers on the road, never lost, never doubled.",
        database=database,
    )
    parts = Notifier(service.db, settings, NotifyMetrics(service.metrics.registry), keys)
    service.app.state.notifier = parts

    async def start(db: AsyncDatabase[Document]) -> None:
        await restore_clock(parts.clock, db)
        await parts.staff.publish_unpublished(parts.clock.now())
        # Kept on the app so they are not garbage-collected; they end with the process.
        service.app.state.tasks = [
            asyncio.create_task(
                parts.dispatcher.run_forever(settings.worker_interval_seconds), name="notify dispatcher"
            ),
            start_periodically(
                parts.dispatcher.refresh_gauges,
                settings.metrics_interval_seconds,
                name="notify gauges",
                first_after=0,
            ),
        ]

    service.on_startup = start
    for subscription in subscriptions(settings.consumer_group, parts):
        service.subscribe(subscription)
    service.include(router)
    return service.app
