"""Where welfare's use cases keep and look up what they work on: MongoDB in the service,
memory in the in-process tests (`welfare.adapters.memory`). `create_app` takes one of these."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.aggregates import AggregateStore
from roadbranch_shared.consumers import EventSubscription
from roadbranch_shared.documents import Document

from welfare.app.drivers import Drivers, DriverView
from welfare.app.needs import NeedsDirectory, mongo_needs
from welfare.app.staff import ReachableStaff, Staff
from welfare.domain.needs import Need


@dataclass(frozen=True)
class WelfareStores:
    needs: AggregateStore[Need]
    directory: NeedsDirectory
    drivers: Drivers
    staff: Staff

    @classmethod
    def mongo(cls, db: AsyncDatabase[Document]) -> WelfareStores:
        return cls(mongo_needs(db), NeedsDirectory.of(db), DriverView(db), ReachableStaff(db))

    def subscriptions(self, group_id: str) -> list[EventSubscription]:
        """The views' subscriptions to roster's and notify's events (none for views in memory)."""
        found: list[EventSubscription] = []
        for view in (self.drivers, self.staff):
            if isinstance(view, DriverView | ReachableStaff):
                found += view.subscriptions(group_id)
        return found
