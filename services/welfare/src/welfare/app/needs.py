"""Working needs on the direct line (诉求直通车): file, match, assign, resolve, rate, reopen, escalate.

Free text the driver wrote (description, comment, where he is) stays in this service's documents;
the events carry ids, category and urgency only.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.aggregates import AggregateStore, Changed, Command, MongoAggregateStore, OneOf
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.documents import Document

from welfare.adapters.aggregates import SOURCE
from welfare.app.drivers import refuse_unless_known
from welfare.domain import needs as rules
from welfare.domain.errors import WelfareError
from welfare.domain.needs import Need

NO_SUCH_NEED = WelfareError("need_id", "not_found", "没有这条诉求", WelfareError.NOT_FOUND)


@dataclass(frozen=True)
class NeedsDirectory:
    """What the needs use cases look up elsewhere in welfare: that the roster told us of a driver
    (raises if not, or if he is being erased), and which resource-list entries are active."""

    refuse_unless_known: Callable[[str], Awaitable[None]]
    active_resources: Callable[[Collection[str]], Awaitable[set[str]]]

    @classmethod
    def of(cls, db: AsyncDatabase[Document]) -> NeedsDirectory:
        async def known(driver_id: str) -> None:
            await refuse_unless_known(db, driver_id)

        async def active(resource_ids: Collection[str]) -> set[str]:
            found = db.resources.find({"_id": {"$in": list(resource_ids)}, "active": True}, {"_id": 1})
            return {r["_id"] async for r in found}

        return cls(known, active)


def mongo_needs(db: AsyncDatabase[Document]) -> AggregateStore[Need]:
    return MongoAggregateStore(db.needs, Need, source=SOURCE)


class Needs:
    def __init__(
        self,
        store: AggregateStore[Need],
        directory: NeedsDirectory,
        clock: TimeSource,
        targets: Mapping[str, float],
        *,
        leader_id: str | None = None,
        on_resolved: Callable[[str, float], None] | None = None,
        on_escalated: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock
        self.targets = targets
        self.leader_id = leader_id
        self.on_resolved = on_resolved  # metrics hook: (category, seconds to resolve)
        self.on_escalated = on_escalated  # metrics hook: (category)

    async def file(
        self,
        *,
        driver_id: str,
        category: str,
        urgency: str,
        description: str,
        location: Document | None,
        by: str,
        by_staff: bool,
        request: str | None = None,
    ) -> Document:
        """File a need. `request` (an Idempotency-Key's digest) makes its id: a repeat of a request
        whose answer was lost in a crash finds the need it filed instead of filing a second."""
        rules.check_choice("category", category, rules.CATEGORIES, "category")
        rules.check_choice("urgency", urgency, rules.URGENCIES, "urgency")
        await self.directory.refuse_unless_known(driver_id)
        need_id = f"need_{request[:16] if request else uuid.uuid4().hex[:16]}"
        if request is not None:
            filed_before = await self.store.get(need_id)
            if filed_before is not None and filed_before.driver_id == driver_id:
                return filed_before.document()
        need, events = Need.file(
            need_id,
            driver_id=driver_id,
            category=category,
            urgency=urgency,
            description=description,
            location=location,
            by=by,
            by_staff=by_staff,
            now=self.clock.now(),
            targets=self.targets,
        )
        try:
            await self.store.create(need, events)
        except DuplicateKeyError:
            if request is None:
                raise
            return await self.get(need_id)  # the same request, filed by a run that raced this one
        return need.document()

    async def get(self, need_id: str) -> Document:
        need = await self.store.get(need_id)
        if need is None:
            raise NO_SUCH_NEED
        return need.document()

    async def page(
        self, *, driver_id: str | None = None, status: str | None = None, limit: int = 100, after: str = ""
    ) -> list[Document]:
        """Needs in id order, a page at a time. Any filter but the id scans the collection, which
        holds a county's needs (hundreds to a few thousand a year): acceptable for staff lists."""
        where = {"driver_id": driver_id, "status": status}
        found = await self.store.find(
            {k: v for k, v in where.items() if v is not None}, after=after, limit=limit
        )
        return [n.document() for n in found]

    async def match(self, need_id: str, resource_ids: list[str], *, by: str) -> Document:
        known = await self.directory.active_resources(resource_ids)
        unknown = list(dict.fromkeys(r for r in resource_ids if r not in known))
        if unknown:  # like an unknown need: 404, naming the field and the ids
            raise WelfareError(
                "resource_ids",
                "unknown_resource",
                "资源清单中没有：" + "、".join(unknown),
                WelfareError.NOT_FOUND,
            )
        return await self._run(need_id, lambda need: need.match(resource_ids, by=by, now=self.clock.now()))

    async def assign(self, need_id: str, handler_id: str, *, by: str) -> Document:
        return await self._run(need_id, lambda need: need.assign(handler_id, by=by, now=self.clock.now()))

    async def resolve(self, need_id: str, summary: str, *, by: str) -> Document:
        changed = await self._change(need_id, lambda need: need.resolve(summary, by=by, now=self.clock.now()))
        resolution = changed.after.resolution or {}
        if self.on_resolved is not None:
            self.on_resolved(changed.after.category, resolution["seconds"])
        return changed.after.document()

    async def rate(
        self, need_id: str, rating: int, comment: str, *, driver_id: str, by: str, request: str | None = None
    ) -> Document:
        """Rate once per resolution (see `Need.rate`)."""
        rules.check_rating(rating)
        return await self._run(
            need_id,
            lambda need: need.rate(
                rating, comment, driver_id=driver_id, by=by, now=self.clock.now(), request=request
            ),
        )

    async def reopen(
        self, need_id: str, reason: str, *, by: str, driver_id: str | None = None, request: str | None = None
    ) -> Document:
        """Reopen a resolved need (see `Need.reopen`)."""
        return await self._run(
            need_id,
            lambda need: need.reopen(
                reason,
                by=by,
                now=self.clock.now(),
                targets=self.targets,
                driver_id=driver_id,
                request=request,
            ),
        )

    async def escalate_overdue(self) -> int:
        """Raise NeedEscalated once for every open need past its target. Scans the needs (a county's
        few thousand at most); the `escalated` flag, set in the same write as the event, makes a
        second scan or a second process skip it."""
        now = self.clock.now()
        candidates = await self.store.find({"status": OneOf(rules.OPEN_STATUSES), "escalated": False})
        raised = 0
        for overdue in (n for n in candidates if n.due_at <= now):
            changed = await self._change(
                overdue.id, lambda need: need.escalate(now=now, leader_id=self.leader_id)
            )
            if changed.events:
                raised += 1
                if self.on_escalated is not None:
                    self.on_escalated(changed.after.category)
        return raised

    async def anonymise(self, driver_id: str, marker: str) -> int:
        """Erasure (see `Need.erase_driver`). A scan by driver id: erasures are rare."""
        # Ids first: the loop rewrites the very field the query selects on.
        need_ids = [n.id for n in await self.store.find({"driver_id": driver_id})]
        for need_id in need_ids:
            await self._change(need_id, lambda need: need.erase_driver(marker))
        return len(need_ids)

    async def _change(self, need_id: str, command: Command[Need]) -> Changed[Need]:
        return await self.store.change(need_id, command, missing=NO_SUCH_NEED)

    async def _run(self, need_id: str, command: Command[Need]) -> Document:
        return (await self._change(need_id, command)).after.document()
