"""The base of every HTTP request body: unknown fields are refused (422 naming each one), so a
misspelt field is never silently dropped, and the OpenAPI document says so
(`additionalProperties: false`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError


def _refuse_booleans(value: Any) -> Any:
    # Pydantic reads true as 1; JSON Schema says a boolean is no integer. 3.0 is one (and is kept).
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# An integer in a request body: a JSON number with no fraction, never true or false.
JsonInt = Annotated[int, BeforeValidator(_refuse_booleans)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


def one_of(values: Iterable[str], *, optional: bool = False) -> dict[str, Any]:
    """`json_schema_extra` of a code the domain checks itself (so its refusal names the field and the
    accepted values in Chinese): the OpenAPI document lists the same values."""
    return {"enum": [*values, None] if optional else list(values)}
