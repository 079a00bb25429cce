"""Who is an organisation's secretary (书记) on a given day, from the secretary seats roster published:
the person notify tells what the organisation's secretary must hear (an overdue 三会一课)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any


def secretary_on(seats: Iterable[Mapping[str, Any]], day: date) -> str | None:
    """The secretary on `day`: the seat whose term covers the day (`term_end` is its last day).

    When no term covers it, a secretary seated ahead of his term still hears (as before notify read
    terms), the soonest to start first; a seat whose term ended before `day` (ran out, or was ended
    early: 免职) never counts again."""
    today = day.isoformat()
    open_seats = [s for s in seats if not s.get("term_end") or today <= s["term_end"]]
    serving = [s for s in open_seats if s["term_start"] <= today]
    if serving:
        return str(max(serving, key=lambda s: s["term_start"])["person_id"])
    upcoming = sorted(open_seats, key=lambda s: s["term_start"])
    return str(upcoming[0]["person_id"]) if upcoming else None
