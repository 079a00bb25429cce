"""The briefing process: `uvicorn briefing.main:app`. It publishes nothing; it reads every topic."""

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.service import Service

from briefing.app.figures import FigureBook
from briefing.app.projection import Projection
from briefing.entrypoints.http import router
from briefing.settings import Settings

settings = Settings()
service = Service(
    name="briefing",
    settings=settings,
    outbox_collections=(),
    publishes=(),
    description="Briefing: the figures of the work and the county's briefing (工作简报), from the events.",
)


async def prepare(db: AsyncDatabase[dict]) -> None:
    book = FigureBook(db, settings.county, settings.county_name, service.metrics.registry)
    service.app.state.figure_book = book
    service.app.state.figures_task = start_periodically(
        book.refresh, settings.figures_interval_seconds, name="briefing figures", first_after=0
    )


service.on_startup = prepare
Projection(lambda: service.db, settings.consumer_group).subscribe(service.subscribe)
service.include(router)
app = service.app
