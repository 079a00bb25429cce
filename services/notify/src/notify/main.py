"""The notify process: `uvicorn notify.main:app`."""

import asyncio
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
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

settings = Settings()
service = Service(
    name="notify",
    settings=settings,
    outbox_collections=("deliveries", "staff"),
    publishes=(NOTIFY_DELIVERY, NOTIFY_STAFF),
    description="Notify: reminders to drivers on the road, never lost, never doubled.",
)
metrics = NotifyMetrics(service.metrics.registry)


def notifier() -> Notifier:
    started: Notifier = service.app.state.notifier
    return started


async def prepare(db: AsyncDatabase[dict[str, Any]]) -> None:
    # Contact points are stored encrypted. The keys are read at start-up, not import: a missing key
    # stops the service naming the variable.
    keys = PiiKeys.from_env()
    keys.require_contact_key()  # the contact points on roster.contact.v1 are sealed with it
    parts = Notifier(db, settings, metrics, keys)
    await restore_clock(parts.clock, db)
    await parts.staff.publish_unpublished(parts.clock.now())
    service.app.state.notifier = parts
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


service.on_startup = prepare
for subscription in subscriptions(settings.consumer_group, notifier):
    service.subscribe(subscription)
service.include(router)
app = service.app
