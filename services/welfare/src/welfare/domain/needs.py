"""Needs on the direct line (诉求直通车): categories, urgencies, the life cycle and response-time targets.

A need is filed, matched to resources, assigned to a handler, resolved, rated by the driver, and may
be reopened. Its response-time target runs from filing (or reopening) and depends on category and
urgency; past it, the need escalates once to the group's leader.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field
from roadbranch_shared.aggregates import Aggregate
from roadbranch_shared.contracts.welfare import (
    NEED_CATEGORIES,
    NeedAssigned,
    NeedEscalated,
    NeedFiled,
    NeedMatched,
    NeedRated,
    NeedReopened,
    NeedResolved,
)
from roadbranch_shared.documents import Document
from roadbranch_shared.events import EventPayload

from welfare.domain.errors import WelfareError

CATEGORIES = NEED_CATEGORIES
URGENCIES = {"low": "一般", "normal": "较急", "high": "紧急", "urgent": "特急"}

FILED, MATCHED, ASSIGNED, RESOLVED, REOPENED = "filed", "matched", "assigned", "resolved", "reopened"
OPEN_STATUSES = (FILED, MATCHED, ASSIGNED, REOPENED)

# Hours from filing to resolution, by urgency; a "category:urgency" key overrides one pair.
DEFAULT_TARGET_HOURS: dict[str, float] = {
    "low": 168,
    "normal": 72,
    "high": 24,
    "urgent": 4,
    "medical:urgent": 2,
    "medical:high": 12,
}


def check_choice(field: str, value: str, choices: Mapping[str, str], what: str) -> None:
    if value not in choices:
        listed = "、".join(f"{k}（{v}）" for k, v in choices.items())
        raise WelfareError(field, "unknown_" + what, f"须为以下之一：{listed}", WelfareError.INVALID)


def check_targets(targets: Mapping[str, float]) -> None:
    """Every key names an urgency or a category:urgency pair, and every urgency has a default."""
    for key, hours in targets.items():
        category, _, urgency = key.rpartition(":")
        if urgency not in URGENCIES or (category and category not in CATEGORIES) or hours <= 0:
            raise ValueError(f"response target {key!r}: {hours} hours is not a valid target")
    missing = [u for u in URGENCIES if u not in targets]
    if missing:
        raise ValueError(f"response targets lack the urgencies {missing}")


def target_hours(targets: Mapping[str, float], category: str, urgency: str) -> float:
    return targets.get(f"{category}:{urgency}", targets[urgency])


def due_at(targets: Mapping[str, float], category: str, urgency: str, since: datetime) -> datetime:
    return since + timedelta(hours=target_hours(targets, category, urgency))


def require_status(need: Mapping[str, Any], allowed: tuple[str, ...], action: str) -> None:
    if need["status"] not in allowed:
        raise WelfareError(
            "status",
            "wrong_status",
            f"诉求当前状态为 {need['status']}，不能{action}",
            current_status=need["status"],
        )


def check_rating(rating: int) -> None:
    if not 1 <= rating <= 5:
        raise WelfareError("rating", "out_of_range", "评分须为 1 到 5 的整数", WelfareError.INVALID)


def is_past_due(need: Mapping[str, Any], now: datetime) -> bool:
    """Open, past its target and not yet escalated for this round (reopening starts a new round)."""
    return need["status"] in OPEN_STATUSES and not need.get("escalated") and need["due_at"] <= now


def age_bucket(age: timedelta) -> str:
    """The open-needs gauge's age label."""
    days = age.total_seconds() / 86400
    if days < 1:
        return "under_1d"
    if days < 3:
        return "1d_3d"
    if days < 7:
        return "3d_7d"
    return "over_7d"


class Need(Aggregate):
    """One need on the direct line. Each command checks the rules, changes the need and returns the
    events it raises; the store writes both at once. Free text (description, location, comments,
    reasons) stays in the need: the events carry ids, category and urgency only."""

    driver_id: str
    category: str
    urgency: str
    description: str
    location: Document | None
    status: str
    filed_at: datetime
    filed_by: str
    filed_by_staff: bool
    round_started_at: datetime
    due_at: datetime
    escalated: bool
    resource_ids: list[str]
    handler_id: str | None
    resolution: Document | None
    rating: Document | None
    reopen_count: int
    history: list[Document]
    # Set by later steps only (absent from needs that never got there).
    assigned_at: datetime | None = None
    escalated_at: datetime | None = None
    escalations: int = 0
    previous_resolutions: list[Document] = Field(default_factory=list)
    driver_erased: bool = False

    @classmethod
    def file(
        cls,
        need_id: str,
        *,
        driver_id: str,
        category: str,
        urgency: str,
        description: str,
        location: Document | None,
        by: str,
        by_staff: bool,
        now: datetime,
        targets: Mapping[str, float],
    ) -> tuple[Need, list[EventPayload]]:
        check_choice("category", category, CATEGORIES, "category")
        check_choice("urgency", urgency, URGENCIES, "urgency")
        need = cls(
            id=need_id,
            driver_id=driver_id,
            category=category,
            urgency=urgency,
            description=description,
            location=location,
            status=FILED,
            filed_at=now,
            filed_by=by,
            filed_by_staff=by_staff,
            round_started_at=now,
            due_at=due_at(targets, category, urgency, now),
            escalated=False,
            resource_ids=[],
            handler_id=None,
            resolution=None,
            rating=None,
            reopen_count=0,
            history=[{"action": "filed", "at": now, "by": by}],
        )
        filed = NeedFiled(
            need_id=need_id,
            driver_id=driver_id,
            category=category,
            urgency=urgency,
            filed_at=now,
            filed_by_staff=by_staff,
        )
        return need, [filed]

    def _require(self, allowed: tuple[str, ...], action: str) -> None:
        require_status({"status": self.status}, allowed, action)

    def _record(self, line: Document) -> None:
        self.history = [*self.history, line]

    def match(self, resource_ids: list[str], *, by: str, now: datetime) -> list[EventPayload]:
        self._require(OPEN_STATUSES, "匹配资源")
        if self.status in (FILED, REOPENED):
            self.status = MATCHED
        self.resource_ids = resource_ids
        self._record({"action": "matched", "at": now, "by": by})
        return [
            NeedMatched(need_id=self.id, driver_id=self.driver_id, resource_ids=resource_ids, matched_at=now)
        ]

    def assign(self, handler_id: str, *, by: str, now: datetime) -> list[EventPayload]:
        self._require(OPEN_STATUSES, "分派")
        self.handler_id, self.status, self.assigned_at = handler_id, ASSIGNED, now
        self._record({"action": "assigned", "at": now, "by": by, "handler_id": handler_id})
        assigned = NeedAssigned(
            need_id=self.id,
            driver_id=self.driver_id,
            category=self.category,
            urgency=self.urgency,
            handler_id=handler_id,
            due_at=self.due_at,
            assigned_at=now,
        )
        return [assigned]

    def resolve(self, summary: str, *, by: str, now: datetime) -> list[EventPayload]:
        self._require((ASSIGNED,), "办结（须先分派经办人）")
        within = now <= self.due_at
        self.status = RESOLVED
        self.resolution = {
            "summary": summary,
            "at": now,
            "by": by,
            "within_target": within,
            "seconds": (now - self.round_started_at).total_seconds(),
        }
        self.rating = None
        self._record({"action": "resolved", "at": now, "by": by})
        resolved = NeedResolved(
            need_id=self.id,
            driver_id=self.driver_id,
            category=self.category,
            urgency=self.urgency,
            handler_id=self.handler_id,
            filed_at=self.filed_at,
            resolved_at=now,
            within_target=within,
        )
        return [resolved]

    def rate(
        self, rating: int, comment: str, *, driver_id: str, by: str, now: datetime, request: str | None = None
    ) -> list[EventPayload]:
        """Once per resolution, by the driver who filed it. `request` (an Idempotency-Key's digest) is
        kept with the rating, so the same request repeated finds its rating, not "already rated"."""
        check_rating(rating)
        if self.driver_id != driver_id:
            raise WelfareError("need_id", "not_yours", "只能评价自己的诉求", WelfareError.FORBIDDEN)
        if request is not None and self.rating is not None and self.rating.get("request") == request:
            return []
        self._require((RESOLVED,), "评价")
        if self.rating is not None:
            raise WelfareError("rating", "already_rated", "这次办结已评价过")
        entry: Document = {"rating": rating, "comment": comment, "at": now}
        if request is not None:
            entry["request"] = request
        self.rating = entry
        self._record({"action": "rated", "at": now, "by": by, "rating": rating})
        return [
            NeedRated(
                need_id=self.id, driver_id=driver_id, rating=rating, has_comment=bool(comment), rated_at=now
            )
        ]

    def reopen(
        self,
        reason: str,
        *,
        by: str,
        now: datetime,
        targets: Mapping[str, float],
        driver_id: str | None = None,
        request: str | None = None,
    ) -> list[EventPayload]:
        """Reopen a resolved need; its response-time target runs again from now. The earlier round's
        resolution and rating stay on record; figures count the latest. `request` (an
        Idempotency-Key's digest) is kept in the history line, so a repeat finds its reopening."""
        if driver_id is not None and self.driver_id != driver_id:
            raise WelfareError("need_id", "not_yours", "只能重新打开自己的诉求", WelfareError.FORBIDDEN)
        if request is not None and any(h.get("request") == request for h in self.history):
            return []
        self._require((RESOLVED,), "重新打开")
        line: Document = {"action": "reopened", "at": now, "by": by, "reason": reason}
        if request is not None:
            line["request"] = request
        self.status = REOPENED
        self.round_started_at = now
        self.due_at = due_at(targets, self.category, self.urgency, now)
        self.escalated = False
        self.previous_resolutions = [
            *self.previous_resolutions,
            {**(self.resolution or {}), "rating": self.rating},
        ]
        self.resolution = None
        self.reopen_count += 1
        self._record(line)
        reopened = NeedReopened(
            need_id=self.id,
            driver_id=self.driver_id,
            category=self.category,
            urgency=self.urgency,
            reopened_at=now,
        )
        return [reopened]

    def escalate(self, *, now: datetime, leader_id: str | None) -> list[EventPayload]:
        """Once per round, when open past its target; otherwise (resolved or escalated meanwhile) nothing."""
        if not is_past_due(self.document(), now):
            return []
        self.escalated, self.escalated_at = True, now
        self.escalations += 1
        self._record({"action": "escalated", "at": now, "by": "system", "to": leader_id})
        escalated = NeedEscalated(
            need_id=self.id,
            driver_id=self.driver_id,
            category=self.category,
            urgency=self.urgency,
            handler_id=self.handler_id,
            leader_id=leader_id,
            due_at=self.due_at,
            escalated_at=now,
        )
        return [escalated]

    def erase_driver(self, marker: str) -> list[EventPayload]:
        """Erasure: the driver's words go (a reopening's reason and earlier comments may be his own
        words too), his id becomes `marker`; categories, times and ratings stay for the figures."""
        self.driver_id = marker
        self.description = ""
        self.location = None
        self.driver_erased = True
        self.rating = without_comment(self.rating)
        self.history = [{k: v for k, v in h.items() if k != "reason"} for h in self.history]
        self.previous_resolutions = [
            {**r, "rating": without_comment(r.get("rating"))} for r in self.previous_resolutions
        ]
        return []


def without_comment(rating: Document | None) -> Document | None:
    return {**rating, "comment": ""} if rating else None
