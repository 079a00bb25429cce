"""Request bodies: a text the body requires is refused when blank, and the OpenAPI pattern says the
same thing the validator does, character for character."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field, ValidationError
from roadbranch_shared.request_body import RequestBody


class Note(RequestBody):
    note: str = Field(min_length=1, max_length=50)
    name: str | None = Field(default=None, min_length=1, max_length=50)
    remark: str = Field(default="", max_length=50)


SCHEMA = Note.model_json_schema()
NOTE = re.compile(SCHEMA["properties"]["note"]["pattern"])
NAME = re.compile(SCHEMA["properties"]["name"]["anyOf"][0]["pattern"])
# Spaces of every kind str.strip() removes, letters, and the control characters refused anyway.
TEXT = st.text(alphabet=st.sampled_from(" \t\r\n\u3000\u00a0\u2003\ufeff\x0b\x1c\x85a字"), max_size=6)


@pytest.mark.parametrize("blank", [" ", "\r", "\u3000 ", "\t\n"])
def test_a_required_text_that_is_only_spaces_is_refused_as_blank(blank: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Note(note=blank)
    [error] = refused.value.errors()
    assert (error["loc"], error["type"]) == (("note",), "blank")


def test_an_optional_text_given_blank_is_refused_and_a_free_text_may_be_blank() -> None:
    with pytest.raises(ValidationError) as refused:
        Note(note="到", name="  ")
    assert [e["loc"] for e in refused.value.errors()] == [("name",)]
    assert Note(note=" 到 ", remark="  ").remark == "  "  # not trimmed, only checked


def test_the_openapi_states_the_rule_only_for_required_texts() -> None:
    assert "pattern" not in SCHEMA["properties"]["remark"]
    assert SCHEMA["additionalProperties"] is False


@given(TEXT)
def test_the_pattern_and_the_validator_agree(text: str) -> None:
    # The control characters are the door's (plain_text); among the rest, blank (or empty) is
    # refused by both.
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text):
        return
    try:
        Note(note=text)
        accepted = True
    except ValidationError:
        accepted = False
    assert bool(NOTE.fullmatch(text)) == accepted, repr(text)


def test_a_name_may_not_break_the_line_even_around_a_letter() -> None:
    assert NAME.fullmatch("暖心之家")
    assert not NAME.fullmatch("暖心\n之家")
    assert not NAME.fullmatch("\u3000")
