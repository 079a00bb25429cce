"""`matches` must mean what a condition means on a MongoDB server: it replaces the filter on FerretDB."""

from datetime import UTC, datetime, timedelta

import pytest
from roadbranch_shared.documents import matches, public, public_fields

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


STORED = {
    "_id": "n-1",
    "status": "open",
    "version": 3,
    "outbox": [{"id": "e-1"}],
    "outbox_lease": {"owner": "relay", "until": NOW},
    "applied": ["e-0"],
}


def test_a_public_document_carries_no_bookkeeping_and_its_id_first_under_its_name() -> None:
    shown = public(STORED, "need_id")
    assert shown == {"need_id": "n-1", "status": "open"}
    assert next(iter(shown)) == "need_id"


def test_a_public_document_keeps_the_bookkeeping_an_api_shows_and_its_id_unless_named() -> None:
    assert public(STORED, shown={"version"}) == {"_id": "n-1", "status": "open", "version": 3}


def test_the_projection_leaves_out_what_public_leaves_out_and_what_else_is_asked() -> None:
    assert public_fields() == {"applied": 0, "outbox": 0, "outbox_lease": 0, "version": 0}
    assert public_fields(shown={"version"}, also=("quotes",)) == {
        "applied": 0,
        "outbox": 0,
        "outbox_lease": 0,
        "quotes": 0,
    }
