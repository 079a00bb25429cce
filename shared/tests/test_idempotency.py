"""The Idempotency-Key header's parsing and what makes two requests the same."""

from __future__ import annotations

from datetime import timedelta

import pytest
from roadbranch_shared.errors import ApiError
from roadbranch_shared.idempotency import IdempotencyStore, fingerprint, parse_key


def test_a_uuid_is_a_key_bare_or_as_a_structured_field_string() -> None:
    key = "8e03978e-40d5-43e8-bc93-6894a57f9324"
    assert parse_key(key) == key
    assert parse_key(f'"{key}"') == key


@pytest.mark.parametrize(
    "raw", ["", "short", "x" * 129, "has space in it", "中文键中文键中文键", '"unclosed']
)
def test_a_bad_key_is_refused_naming_the_header(raw: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_key(raw)
    assert (refused.value.status, refused.value.field) == (422, "Idempotency-Key")
    assert refused.value.details["fields"][0]["field"] == "Idempotency-Key"


def test_the_same_json_spelt_differently_is_the_same_request() -> None:
    one = fingerprint("POST", "/v1/needs", b'{"a": 1, "b": [1, 2]}')
    assert one == fingerprint("POST", "/v1/needs", b'{"b":[1,2],\n "a":1}')
    assert one != fingerprint("POST", "/v1/needs", b'{"a": 2, "b": [1, 2]}')
    assert one != fingerprint("POST", "/v1/needs/x/rating", b'{"a": 1, "b": [1, 2]}')


def test_keys_are_kept_at_least_a_week() -> None:
    with pytest.raises(ValueError, match="7 days"):
        IdempotencyStore(collection=None, ttl=timedelta(days=2))  # type: ignore[arg-type]
