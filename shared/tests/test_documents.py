"""`matches` must mean what a condition means on a MongoDB server: it replaces the filter on FerretDB."""

from datetime import UTC, datetime, timedelta

import pytest
from roadbranch_shared.documents import matches

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "condition", "expected"),
    [
        ({"version": 3}, {"version": 3}, True),
        ({"version": 3}, {"version": 2}, False),
        ({}, {"version": 0}, False),
        ({"applied": ["a", "b"]}, {"applied": {"$ne": "c"}}, True),
        ({"applied": ["a", "b"]}, {"applied": {"$ne": "a"}}, False),
        ({}, {"applied": {"$ne": "a"}}, True),
        ({"applied": ["a"]}, {"applied": "a"}, True),
        ({"seq": 4}, {"$or": [{"seq": {"$exists": False}}, {"seq": {"$lt": 5}}]}, True),
        ({"seq": 5}, {"$or": [{"seq": {"$exists": False}}, {"seq": {"$lt": 5}}]}, False),
        ({}, {"$or": [{"seq": {"$exists": False}}, {"seq": {"$lt": 5}}]}, True),
        ({"lease": {"until": NOW - timedelta(seconds=1)}}, {"lease.until": {"$lt": NOW}}, True),
        ({"lease": {"until": NOW.replace(tzinfo=None)}}, {"lease.until": {"$lt": NOW + timedelta(1)}}, True),
        ({"lease": {"until": NOW}}, {"lease.until": {"$lt": NOW}}, False),
        ({"lease": {"owner": "me"}}, {"lease.owner": "me"}, True),
        ({"lease": None}, {"lease.owner": "me"}, False),
        ({"n": "7"}, {"n": {"$gt": 5}}, False),
        ({"n": 7}, {"n": {"$gte": 7, "$lte": 7}}, True),
        ({"status": "open"}, {"status": {"$in": ["open", "assigned"]}}, True),
        ({"outbox": [{"id": "e1"}]}, {"outbox.0": {"$exists": True}}, True),
        ({"outbox": []}, {"outbox.0": {"$exists": True}}, False),
        ({"a": 1, "b": 2}, {"$and": [{"a": 1}, {"b": 2}]}, True),
        ({"a": None}, {"a": None}, True),
        ({}, {"a": None}, True),
    ],
)
def test_condition_matches_like_mongodb(document: dict, condition: dict, expected: bool) -> None:
    assert matches(document, condition) is expected


def test_an_unsupported_operator_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match=r"\$regex"):
        matches({"a": "x"}, {"a": {"$regex": "x"}})
