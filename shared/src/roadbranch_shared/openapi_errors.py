"""The error answers every endpoint can give, declared in its OpenAPI operation, in the shared
error body (`roadbranch_shared.errors`), so a generated client and a fuzzer see what really comes.

Derived from the route rather than written 200 times: every `/v1/` route needs a token (401) and
may refuse the caller's role or scope (403); one with a path parameter, or a write whose body names
another object (a driver, a venue, a meeting), may find nothing (404); a write may meet the state
(409); every route validates its input (422, also for control characters in a query); one that
takes an upload may get a body it cannot parse (400).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from roadbranch_shared.plain_text import text_pattern

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "machine-readable, e.g. invalid, forbidden"},
                "message": {"type": "string", "description": "for staff, in Chinese"},
                "field": {"type": "string", "description": "the field the error is about"},
                "reason": {"type": "string", "description": "why, machine-readable"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "reason", "message"],
                        "properties": {
                            "field": {"type": "string"},
                            "reason": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
            "additionalProperties": True,
        }
    },
}
DESCRIPTIONS = {
    "400": "请求内容无法解析（不是 UTF-8 文本，或上传的文件、表单格式不对）",
    "401": "缺少或无效的令牌",
    "403": "角色或管辖范围不允许",
    "404": "找不到所指的对象",
    "409": "与现有状态冲突",
    "422": "字段有误（fields 逐一列出字段与原因）",
}
WRITES = {"post", "put", "patch", "delete"}


def error_answers(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation can answer, from its path, method and request body."""
    statuses = ["422"]
    if path.startswith("/v1/"):
        statuses += ["401", "403"]
    if "{" in path or (method in WRITES and operation.get("requestBody")):
        statuses.append("404")
    if method in WRITES:
        statuses.append("409")
    if operation.get("requestBody"):
        statuses.append("400")  # a body that is no text (not UTF-8) or an upload that does not parse
    return sorted(statuses)


def _declare_plain_text(node: Any, key: str = "") -> None:
    """Give every free string of input schemas the pattern the control-character check enforces."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "enum", "format", "const"} & node.keys():
            node["pattern"] = text_pattern(key)
        for name, value in node.items():
            if name == "properties" and isinstance(value, dict):
                for prop, schema in value.items():
                    _declare_plain_text(schema, prop)
            else:
                _declare_plain_text(value, key)
    elif isinstance(node, list):
        for item in node:
            _declare_plain_text(item, key)


def declare_error_responses(app: FastAPI) -> None:
    """Make `app.openapi()` list each operation's error answers with the shared error body."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        _declare_plain_text(components)
        components["Error"] = ERROR_SCHEMA
        # FastAPI's own 422 body is never sent: the shared handler answers every validation error.
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if method not in {"get", "put", "post", "patch", "delete"}:
                    continue
                for parameter in operation.get("parameters", []):
                    _declare_plain_text(parameter.get("schema"), parameter.get("name", ""))
                responses = operation.setdefault("responses", {})
                for status in error_answers(path, method, operation):
                    responses[status] = {"description": DESCRIPTIONS[status], "content": reference}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
