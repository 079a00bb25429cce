"""Working needs on the direct line (诉求直通车): file, match, assign, resolve, rate, reopen, escalate.

Free text the driver wrote (description, comment, where he is) stays in this service's documents;
the events carry ids, category and urgency only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.clock import Clock
from roadbranch_shared.contracts.welfare import (
    NeedAssigned,
    NeedEscalated,
    NeedFiled,
    NeedMatched,
    NeedRated,
    NeedReopened,
    NeedResolved,
)

from welfare.adapters.aggregates import Changed, Decision, change, create
from welfare.app.drivers import refuse_unless_known
from welfare.domain import needs as rules
from welfare.domain.errors import WelfareError

Document = dict[str, Any]
NO_SUCH_NEED = WelfareError("need_id", "not_found", "没有这条诉求", WelfareError.NOT_FOUND)


class Needs:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        clock: Clock,
        targets: Mapping[str, float],
        *,
        leader_id: str | None = None,
        on_resolved: Callable[[str, float], None] | None = None,
        on_escalated: Callable[[str], None] | None = None,
    ) -> None:
        self.db = db
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
        await refuse_unless_known(self.db, driver_id)
        now = self.clock.now()
        need_id = f"need_{request[:16] if request else uuid.uuid4().hex[:16]}"
        if request is not None:
            filed_before = await self.db.needs.find_one({"_id": need_id})
            if filed_before is not None and filed_before["driver_id"] == driver_id:
                return filed_before
        need = {
            "_id": need_id,
            "driver_id": driver_id,
            "category": category,
            "urgency": urgency,
            "description": description,
            "location": location,
            "status": rules.FILED,
            "filed_at": now,
            "filed_by": by,
            "filed_by_staff": by_staff,
            "round_started_at": now,
            "due_at": rules.due_at(self.targets, category, urgency, now),
            "escalated": False,
            "resource_ids": [],
            "handler_id": None,
            "resolution": None,
            "rating": None,
            "reopen_count": 0,
            "history": [{"action": "filed", "at": now, "by": by}],
        }
        filed = NeedFiled(
            need_id=need_id,
            driver_id=driver_id,
            category=category,
            urgency=urgency,
            filed_at=now,
            filed_by_staff=by_staff,
        )
        try:
            await create(self.db.needs, need, [filed])
        except DuplicateKeyError:
            if request is None:
                raise
            return await self.get(need_id)  # the same request, filed by a run that raced this one
        return need

    async def get(self, need_id: str) -> Document:
        need = await self.db.needs.find_one({"_id": need_id})
        if need is None:
            raise NO_SUCH_NEED
        return need

    async def page(
        self, *, driver_id: str | None = None, status: str | None = None, limit: int = 100, after: str = ""
    ) -> list[Document]:
        """Needs in id order, a page at a time. Any filter but the id scans the collection, which
        holds a county's needs (hundreds to a few thousand a year): acceptable for staff lists."""
        query: Document = {"_id": {"$gt": after}}
        if driver_id is not None:
            query["driver_id"] = driver_id
        if status is not None:
            query["status"] = status
        return [n async for n in self.db.needs.find(query, sort=[("_id", 1)], limit=limit)]

    async def match(self, need_id: str, resource_ids: list[str], *, by: str) -> Document:
        known = {
            r["_id"] async for r in self.db.resources.find({"_id": {"$in": resource_ids}, "active": True})
        }
        unknown = list(dict.fromkeys(r for r in resource_ids if r not in known))
        if unknown:  # like an unknown need: 404, naming the field and the ids
            raise WelfareError(
                "resource_ids",
                "unknown_resource",
                "资源清单中没有：" + "、".join(unknown),
                WelfareError.NOT_FOUND,
            )

        def decide(need: Document) -> Decision:
            rules.require_status(need, rules.OPEN_STATUSES, "匹配资源")
            now = self.clock.now()
            status = rules.MATCHED if need["status"] in (rules.FILED, rules.REOPENED) else need["status"]
            event = NeedMatched(
                need_id=need_id, driver_id=need["driver_id"], resource_ids=resource_ids, matched_at=now
            )
            update = {
                "$set": {"resource_ids": resource_ids, "status": status},
                "$push": {"history": {"action": "matched", "at": now, "by": by}},
            }
            return update, [event]

        return (await self._change(need_id, decide)).after

    async def assign(self, need_id: str, handler_id: str, *, by: str) -> Document:
        def decide(need: Document) -> Decision:
            rules.require_status(need, rules.OPEN_STATUSES, "分派")
            now = self.clock.now()
            event = NeedAssigned(
                need_id=need_id,
                driver_id=need["driver_id"],
                category=need["category"],
                urgency=need["urgency"],
                handler_id=handler_id,
                due_at=need["due_at"],
                assigned_at=now,
            )
            update = {
                "$set": {"handler_id": handler_id, "status": rules.ASSIGNED, "assigned_at": now},
                "$push": {"history": {"action": "assigned", "at": now, "by": by, "handler_id": handler_id}},
            }
            return update, [event]

        return (await self._change(need_id, decide)).after

    async def resolve(self, need_id: str, summary: str, *, by: str) -> Document:
        def decide(need: Document) -> Decision:
            rules.require_status(need, (rules.ASSIGNED,), "办结（须先分派经办人）")
            now = self.clock.now()
            within = now <= need["due_at"]
            event = NeedResolved(
                need_id=need_id,
                driver_id=need["driver_id"],
                category=need["category"],
                urgency=need["urgency"],
                handler_id=need["handler_id"],
                filed_at=need["filed_at"],
                resolved_at=now,
                within_target=within,
            )
            resolution = {
                "summary": summary,
                "at": now,
                "by": by,
                "within_target": within,
                "seconds": (now - need["round_started_at"]).total_seconds(),
            }
            update = {
                "$set": {"status": rules.RESOLVED, "resolution": resolution, "rating": None},
                "$push": {"history": {"action": "resolved", "at": now, "by": by}},
            }
            return update, [event]

        changed = await self._change(need_id, decide)
        if self.on_resolved is not None:
            self.on_resolved(changed.after["category"], changed.after["resolution"]["seconds"])
        return changed.after

    async def rate(
        self, need_id: str, rating: int, comment: str, *, driver_id: str, by: str, request: str | None = None
    ) -> Document:
        """Rate once per resolution. `request` (an Idempotency-Key's digest) is kept with the rating,
        so the same request repeated after a crash finds its rating rather than "already rated"."""
        rules.check_rating(rating)

        def decide(need: Document) -> Decision:
            if need["driver_id"] != driver_id:
                raise WelfareError("need_id", "not_yours", "只能评价自己的诉求", WelfareError.FORBIDDEN)
            given = need.get("rating")
            if request is not None and given is not None and given.get("request") == request:
                return {}, []
            rules.require_status(need, (rules.RESOLVED,), "评价")
            if given is not None:
                raise WelfareError("rating", "already_rated", "这次办结已评价过")
            now = self.clock.now()
            event = NeedRated(
                need_id=need_id, driver_id=driver_id, rating=rating, has_comment=bool(comment), rated_at=now
            )
            entry: Document = {"rating": rating, "comment": comment, "at": now}
            if request is not None:
                entry["request"] = request
            update = {
                "$set": {"rating": entry},
                "$push": {"history": {"action": "rated", "at": now, "by": by, "rating": rating}},
            }
            return update, [event]

        return (await self._change(need_id, decide)).after

    async def reopen(
        self, need_id: str, reason: str, *, by: str, driver_id: str | None = None, request: str | None = None
    ) -> Document:
        """Reopen a resolved need; its response-time target runs again from now. `request` (an
        Idempotency-Key's digest) is kept in the history line, so a repeat finds its reopening."""

        def decide(need: Document) -> Decision:
            if driver_id is not None and need["driver_id"] != driver_id:
                raise WelfareError("need_id", "not_yours", "只能重新打开自己的诉求", WelfareError.FORBIDDEN)
            if request is not None and any(h.get("request") == request for h in need.get("history", [])):
                return {}, []
            rules.require_status(need, (rules.RESOLVED,), "重新打开")
            now = self.clock.now()
            line: Document = {"action": "reopened", "at": now, "by": by, "reason": reason}
            if request is not None:
                line["request"] = request
            event = NeedReopened(
                need_id=need_id,
                driver_id=need["driver_id"],
                category=need["category"],
                urgency=need["urgency"],
                reopened_at=now,
            )
            update = {
                "$set": {
                    "status": rules.REOPENED,
                    "round_started_at": now,
                    "due_at": rules.due_at(self.targets, need["category"], need["urgency"], now),
                    "escalated": False,
                    # The earlier round's resolution and rating stay on record; figures count the latest.
                    "previous_resolutions": [
                        *need.get("previous_resolutions", []),
                        {**need["resolution"], "rating": need.get("rating")},
                    ],
                    "resolution": None,
                },
                "$inc": {"reopen_count": 1},
                "$push": {"history": line},
            }
            return update, [event]

        return (await self._change(need_id, decide)).after

    async def escalate_overdue(self) -> int:
        """Raise NeedEscalated once for every open need past its target. Scans the needs (a county's
        few thousand at most); the `escalated` flag, set in the same write as the event, makes a
        second scan or a second process skip it."""
        now = self.clock.now()
        overdue = [
            n["_id"]
            async for n in self.db.needs.find(
                {"status": {"$in": list(rules.OPEN_STATUSES)}, "escalated": False}, {"due_at": 1}
            )
            if n["due_at"] <= now
        ]
        raised = 0
        for need_id in overdue:
            changed = await self._change(need_id, lambda need: self._escalation(need, now))
            if changed.events:
                raised += 1
                if self.on_escalated is not None:
                    self.on_escalated(changed.after["category"])
        return raised

    def _escalation(self, need: Document, now: datetime) -> Decision:
        if not rules.is_past_due(need, now):
            return {}, []  # resolved or escalated meanwhile
        event = NeedEscalated(
            need_id=need["_id"],
            driver_id=need["driver_id"],
            category=need["category"],
            urgency=need["urgency"],
            handler_id=need.get("handler_id"),
            leader_id=self.leader_id,
            due_at=need["due_at"],
            escalated_at=now,
        )
        update = {
            "$set": {"escalated": True, "escalated_at": now},
            "$inc": {"escalations": 1},
            "$push": {"history": {"action": "escalated", "at": now, "by": "system", "to": self.leader_id}},
        }
        return update, [event]

    async def anonymise(self, driver_id: str, marker: str) -> int:
        """Erasure: the driver's words go, his id becomes `marker`; categories, times and ratings stay
        for the figures. A scan by driver id: erasures are rare."""
        # Ids first: the loop rewrites the very field the query selects on.
        need_ids = [n["_id"] async for n in self.db.needs.find({"driver_id": driver_id}, {"_id": 1})]
        for need_id in need_ids:

            def decide(n: Document) -> Decision:
                # A reopening's reason may be the driver's own words, and so may earlier comments.
                history = [{k: v for k, v in h.items() if k != "reason"} for h in n.get("history", [])]
                earlier = [
                    {**r, "rating": without_comment(r.get("rating"))}
                    for r in n.get("previous_resolutions", [])
                ]
                update: Document = {
                    "$set": {
                        "driver_id": marker,
                        "description": "",
                        "location": None,
                        "driver_erased": True,
                        "rating": without_comment(n.get("rating")),
                        "history": history,
                        "previous_resolutions": earlier,
                    }
                }
                return update, []

            await self._change(need_id, decide)
        return len(need_ids)

    async def _change(self, need_id: str, decide: Callable[[Document], Decision]) -> Changed:
        return await change(self.db.needs, need_id, decide, missing=NO_SUCH_NEED)


def without_comment(rating: Document | None) -> Document | None:
    return {**rating, "comment": ""} if rating else None
