"""The briefing's source tables: each event type has one rule, registered on its own topic."""

from __future__ import annotations

import pytest
from briefing.app import projection
from briefing.app.projection import Projection
from briefing.app.sources import activities, notify, roster, welfare

TABLES = (roster.RULES, activities.RULES, welfare.RULES, notify.RULES)


def test_every_row_of_every_table_is_subscribed_on_its_topic() -> None:
    subscriptions = Projection(None).subscriptions  # type: ignore[arg-type]
    for table in TABLES:
        for rule in table:
            assert rule.event.event_type in subscriptions[rule.event.topic.name].event_types
    rows = sum(len(table) for table in TABLES)
    assert rows == sum(len(s.event_types) for s in subscriptions.values()), "one rule per event type"


def test_a_second_rule_for_one_event_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projection.roster, "RULES", (*roster.RULES, roster.RULES[0]))
    with pytest.raises(ValueError, match=roster.RULES[0].event.event_type):
        Projection(None)  # type: ignore[arg-type]
