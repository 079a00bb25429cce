"""The use cases of one process, built by `create_app` on its database and stores."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.aggregates import AggregateStore, InMemoryAggregateStore
from roadbranch_shared.clock import Clock
from roadbranch_shared.documents import Document

from activities.app.attendance import Attendances
from activities.app.compliance import Compliance
from activities.app.figures import LearningFigures
from activities.app.learning import Contents, Quizzes
from activities.app.meetings import Meetings
from activities.app.venues import SOURCE, Venues, mongo_venues
from activities.app.views import Membership
from activities.domain.venues import Venue
from activities.settings import Settings


@dataclass(frozen=True)
class ActivitiesStores:
    """The typed aggregates' stores: MongoDB in the service, memory in the in-process tests."""

    venues: AggregateStore[Venue]

    @classmethod
    def mongo(cls, db: AsyncDatabase[Document]) -> ActivitiesStores:
        return cls(mongo_venues(db))

    @classmethod
    def in_memory(cls) -> ActivitiesStores:
        return cls(InMemoryAggregateStore(Venue, source=SOURCE))


@dataclass
class Activities:
    clock: Clock
    membership: Membership
    venues: Venues
    meetings: Meetings
    attendances: Attendances
    contents: Contents
    quizzes: Quizzes
    compliance: Compliance
    figures: LearningFigures

    @classmethod
    def build(
        cls,
        db: AsyncDatabase[Document],
        settings: Settings,
        clock: Clock,
        registry: CollectorRegistry,
        stores: ActivitiesStores | None = None,
    ) -> Activities:
        stores = stores or ActivitiesStores.mongo(db)
        membership = Membership(db)
        venues = Venues(stores.venues, clock, county=settings.county)
        meetings = Meetings(db, membership, clock, venues)
        attendances = Attendances(
            meetings,
            code_minutes=settings.check_in_code_minutes,
            makeup_window_days=settings.makeup_window_days,
        )
        compliance = Compliance(db, membership, clock, warn_days=settings.compliance_warn_days)
        return cls(
            clock=clock,
            membership=membership,
            venues=venues,
            meetings=meetings,
            attendances=attendances,
            contents=Contents(meetings),
            quizzes=Quizzes(meetings, attendances),
            compliance=compliance,
            figures=LearningFigures(db, compliance, registry),
        )
