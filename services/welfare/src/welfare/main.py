"""The welfare process: `uvicorn welfare.main:app`."""

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.clock import Clock
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.service import Service
from roadbranch_shared.topics import WELFARE_CAMPAIGN, WELFARE_NEED, WELFARE_STATION

from welfare.app.campaigns import Campaigns
from welfare.app.drivers import DriverView
from welfare.app.figures import WelfareFigures, WelfareMetrics
from welfare.app.needs import Needs, NeedsDirectory, mongo_needs
from welfare.app.resources import Resources
from welfare.app.staff import ReachableStaff
from welfare.app.stations import Stations
from welfare.entrypoints import campaigns_http, figures_http, needs_http, stations_http
from welfare.settings import Settings

settings = Settings()
service = Service(
    name="welfare",
    settings=settings,
    outbox_collections=("needs", "stations", "campaigns"),
    publishes=(WELFARE_NEED, WELFARE_STATION, WELFARE_CAMPAIGN),
    description="Welfare: needs hotline, warm-heart stations and care campaigns (提供精准服务).",
)
metrics = WelfareMetrics(service.metrics.registry)
clock = Clock(controllable=settings.clock_control)

drivers = DriverView(lambda: service.db)
for subscription in drivers.subscriptions(settings.consumer_group):
    service.subscribe(subscription)
reachable_staff = ReachableStaff(lambda: service.db)
for subscription in reachable_staff.subscriptions(settings.consumer_group):
    service.subscribe(subscription)


async def prepare(db: AsyncDatabase[dict]) -> None:
    state = service.app.state
    state.clock = clock
    state.drivers = drivers
    state.reachable_staff = reachable_staff
    state.needs = Needs(
        mongo_needs(db),
        NeedsDirectory.of(db),
        clock,
        settings.response_target_hours,
        leader_id=settings.escalation_leader_id,
        on_resolved=lambda category, seconds: metrics.resolve_seconds.labels(category).observe(seconds),
        on_escalated=lambda category: metrics.escalations.labels(category).inc(),
    )
    state.resources = Resources(db)
    if settings.seed_resources:
        await state.resources.seed()
    state.stations = Stations(db, clock, county=settings.county, timezone=settings.local_timezone)
    state.campaigns = Campaigns(db, clock, drivers)
    state.figures = WelfareFigures(db, clock, metrics)
    drivers.anonymisers[:] = [state.needs.anonymise, state.stations.anonymise, state.campaigns.anonymise]
    state.escalation_task = start_periodically(
        state.needs.escalate_overdue, settings.escalation_scan_seconds, name="need escalation scan"
    )
    state.figures_task = start_periodically(
        state.figures.refresh, settings.figures_interval_seconds, name="welfare figures", first_after=0
    )


service.on_startup = prepare
service.include(needs_http.router)
service.include(stations_http.router)
service.include(campaigns_http.router)
service.include(figures_http.router)
app = service.app
