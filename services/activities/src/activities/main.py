"""The activities process: `uvicorn activities.main:app`."""

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.clock import Clock
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.service import Service
from roadbranch_shared.topics import (
    ACTIVITIES_COMPLIANCE,
    ACTIVITIES_CONTENT,
    ACTIVITIES_MEETING,
    ACTIVITIES_VENUE,
)

from activities.app.views import Membership
from activities.app.wiring import Activities
from activities.entrypoints import (
    compliance_http,
    learning_http,
    meetings_http,
    organisations_http,
    roster_events,
    venues_http,
)
from activities.settings import Settings

settings = Settings()
service = Service(
    name="activities",
    settings=settings,
    outbox_collections=("meetings", "contents", "compliance_alerts", "venues"),
    publishes=(ACTIVITIES_MEETING, ACTIVITIES_CONTENT, ACTIVITIES_COMPLIANCE, ACTIVITIES_VENUE),
    description="Activities: learning and organisational life for drivers on the move (搭建学习平台).",
)
clock = Clock(controllable=settings.clock_control, runs=False)


def membership() -> Membership:
    found: Activities = service.app.state.activities
    return found.membership


async def prepare(db: AsyncDatabase[dict]) -> None:
    activities = Activities.build(db, settings, clock, service.metrics.registry)
    service.app.state.activities = activities
    service.app.state.figures_task = start_periodically(
        activities.figures.refresh,
        settings.figures_interval_seconds,
        name="activities figures",
        first_after=0,
    )
    service.app.state.scan_task = start_periodically(
        activities.compliance.scan, settings.compliance_scan_interval_seconds, name="compliance scan"
    )


service.on_startup = prepare
for subscription in roster_events.subscriptions(membership, settings.consumer_group):
    service.subscribe(subscription)
service.include(meetings_http.router)
service.include(meetings_http.mine_router)
service.include(learning_http.mine_router)
service.include(learning_http.router)
service.include(compliance_http.router)
service.include(organisations_http.router)
service.include(organisations_http.drivers_router)
service.include(venues_http.router)
app = service.app
