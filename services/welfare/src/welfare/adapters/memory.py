"""Welfare's stores in memory, for the in-process tests of its use cases and HTTP API
(`create_app(stores=in_memory_stores(...))`). The service itself runs on `WelfareStores.mongo`."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from roadbranch_shared.aggregates import InMemoryAggregateStore
from roadbranch_shared.documents import Document

from welfare.adapters.aggregates import SOURCE
from welfare.app.drivers import Anonymiser, refuse_unless_recorded
from welfare.app.needs import NeedsDirectory
from welfare.app.staff import handler_warnings
from welfare.app.stores import WelfareStores
from welfare.domain.needs import Need


@dataclass
class DriversInMemory:
    """The driver view as roster's events would leave it: registered drivers, members, erasures."""

    views: dict[str, Document] = field(default_factory=dict)
    anonymisers: list[Anonymiser] = field(default_factory=list)

    def register(self, driver_id: str, *, member: bool = False) -> None:
        self.views[driver_id] = {"_id": driver_id, "registered": True, "member": member}

    async def view(self, driver_id: str) -> Document | None:
        return self.views.get(driver_id)

    async def is_member(self, driver_id: str) -> bool:
        return bool(self.views.get(driver_id, {}).get("member"))

    async def catch_up_erasure(self, driver_id: str) -> None:
        view = self.views.get(driver_id, {})
        if view.get("erasing") and view.get("anon_marker"):
            for anonymise in self.anonymisers:
                await anonymise(driver_id, view["anon_marker"])

    async def refuse_unless_known(self, driver_id: str) -> None:
        refuse_unless_recorded(self.views.get(driver_id))


@dataclass
class StaffInMemory:
    """Staff-directory entries as notify's events would leave them, by subject."""

    entries: dict[str, Document] = field(default_factory=dict)

    async def handler_warnings(self, handler_id: str) -> list[Document]:
        return handler_warnings(self.entries.get(handler_id))


def in_memory_stores(
    *, drivers: Iterable[str] = (), members: Iterable[str] = (), resources: Collection[str] = ()
) -> tuple[WelfareStores, InMemoryAggregateStore[Need], DriversInMemory, StaffInMemory]:
    """Stores in memory with these drivers registered (`members` among them verified) and these
    resource-list entries active; answers the stores and, for the test to look into, the parts."""
    needs: InMemoryAggregateStore[Need] = InMemoryAggregateStore(Need, source=SOURCE)
    known = DriversInMemory()
    for driver_id in drivers:
        known.register(driver_id)
    for driver_id in members:
        known.register(driver_id, member=True)
    staff = StaffInMemory()
    active = set(resources)

    async def active_resources(resource_ids: Collection[str]) -> set[str]:
        return active & set(resource_ids)

    directory = NeedsDirectory(known.refuse_unless_known, active_resources)
    return WelfareStores(needs, directory, known, staff), needs, known, staff
