"""Needs on the direct line (诉求直通车): categories, urgencies, the life cycle and response-time targets.

A need is filed, matched to resources, assigned to a handler, resolved, rated by the driver, and may
be reopened. Its response-time target runs from filing (or reopening) and depends on category and
urgency; past it, the need escalates once to the group's leader.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from roadbranch_shared.contracts.welfare import NEED_CATEGORIES

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
