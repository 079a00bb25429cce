"""The base of every HTTP request body: unknown fields are refused (422 naming each one), so a
misspelt field is never silently dropped, and a text the body requires (`min_length` of 1 or more)
is refused when it holds only spaces, as missing; the OpenAPI document says both
(`additionalProperties: false`, a pattern that needs one character that is not a space)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, ClassVar

from annotated_types import MinLen
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from roadbranch_shared.plain_text import text_pattern


def _refuse_booleans(value: Any) -> Any:
    # Pydantic reads true as 1; JSON Schema says a boolean is no integer. 3.0 is one (and is kept).
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# An integer in a request body: a JSON number with no fraction, never true or false.
JsonInt = Annotated[int, BeforeValidator(_refuse_booleans)]


def _required_texts(model: type[BaseModel]) -> frozenset[str]:
    """The fields of a body that are text it requires: a `min_length` of 1 or more."""
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if any(isinstance(m, MinLen) and m.min_length >= 1 for m in field.metadata)
    )


def _string_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The string schema of a property, also inside an optional's anyOf."""
    if schema.get("type") == "string":
        return [schema]
    return [s for s in schema.get("anyOf", []) if s.get("type") == "string"]


def _declare_not_blank(schema: dict[str, Any], model: type[BaseModel]) -> None:
    for name in _required_texts(model):
        key = model.model_fields[name].alias or name
        for node in _string_schemas(schema.get("properties", {}).get(key, {})):
            node.setdefault("pattern", text_pattern(key, not_blank=True))


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_declare_not_blank)
    # Worked out once per body class, not at every request.
    _texts_required: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._texts_required = _required_texts(cls)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_blank(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and info.field_name in cls._texts_required and not value.strip():
            raise PydanticCustomError("blank", "不能只有空格。")
        return value


def one_of(values: Iterable[str], *, optional: bool = False) -> dict[str, Any]:
    """`json_schema_extra` of a code the domain checks itself (so its refusal names the field and the
    accepted values in Chinese): the OpenAPI document lists the same values."""
    return {"enum": [*values, None] if optional else list(values)}
