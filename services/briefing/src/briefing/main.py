"""The briefing process: `uvicorn --factory briefing.main:create_app`. It publishes nothing; it
reads every topic."""

from __future__ import annotations

from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.service import Service

from briefing.adapters.pdf import Fonts
from briefing.app.figures import FigureBook
from briefing.app.projection import Projection
from briefing.entrypoints.http import router
from briefing.settings import Settings

DESCRIPTION = "Briefing: the figures of the work and the county's briefing (工作简报), from the events."


def create_app(
    settings: Settings | None = None, *, database: AsyncDatabase[Document] | None = None
) -> FastAPI:
    """The briefing app, built here from `settings` (ROADBRANCH_* unless given); nothing runs until
    the app's lifespan starts."""
    settings = settings or Settings()
    service = Service(
        name="briefing",
        settings=settings,
        outbox_collections=(),
        publishes=(),
        description=DESCRIPTION,
        database=database,
    )
    book = FigureBook(service.db, settings.county, settings.county_name, service.metrics.registry)
    service.app.state.figure_book = book
    service.app.state.pdf_fonts = Fonts(settings.pdf_font_regular, settings.pdf_font_bold)

    async def start(_: AsyncDatabase[Document]) -> None:
        service.app.state.figures_task = start_periodically(
            book.refresh, settings.figures_interval_seconds, name="briefing figures", first_after=0
        )

    service.on_startup = start
    Projection(service.db, settings.consumer_group).subscribe(service.subscribe)
    service.include(router)
    return service.app
