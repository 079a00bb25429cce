"""The project-wide HTTP error format and the FastAPI handlers that render it.

Every error body is `{"error": {"code": <machine-readable>, "message": <Chinese>, ...}}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from roadbranch_shared.pii.logfilter import redact_pii


class ErrorCode(StrEnum):
    """Codes shared by all services; a service may add its own strings."""

    INVALID = "invalid"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    INTERNAL = "internal"


INVALID_MESSAGE = "提交的数据有误，请按字段提示修改。"


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field, e.g. ("body.id_number", "check_digit", "…")."""

    field: str
    reason: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason, "message": self.message}


class ApiError(Exception):
    """An error a client caused (or may retry), rendered in the shared format."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = dict(details or {})
        self.headers = dict(headers or {})

    @classmethod
    def invalid(cls, fields: Sequence[FieldError], message: str = INVALID_MESSAGE) -> ApiError:
        """422 listing every bad field, the same shape as request validation errors."""
        return cls(422, ErrorCode.INVALID, message, details={"fields": [f.as_dict() for f in fields]})

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        error.update(self.details)
        return {"error": error}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers or None)


def install_error_handlers(app: FastAPI) -> None:
    """Render ApiError, request validation errors, HTTP errors and crashes in the shared format."""
    app.add_exception_handler(ApiError, _render_api_error)
    app.add_exception_handler(RequestValidationError, _render_validation_error)
    app.add_exception_handler(HTTPException, _render_http_exception)
    app.add_exception_handler(Exception, _render_unexpected)


def validation_field_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Pydantic errors as FieldErrors; the rejected input is never echoed back."""
    return [
        FieldError(
            # A body that is no JSON at all is located at a character offset: name the body.
            field="body" if error["type"] == "json_invalid" else ".".join(str(part) for part in error["loc"]),
            reason="required" if error["type"] == "missing" else str(error["type"]),
            message=redact_pii(_field_message(error)),
        )
        for error in errors
    ]


_FIELD_MESSAGES = {
    "missing": "必填。",
    "extra_forbidden": "不接受此字段。",
    "json_invalid": "请求内容不是有效的 JSON。",
    "string_type": "应为文本。",
    "string_too_short": "至少 {min_length} 个字符。",
    "string_too_long": "最多 {max_length} 个字符。",
    "string_pattern_mismatch": "格式不正确。",
    "int_type": "应为整数。",
    "int_parsing": "应为整数。",
    "float_type": "应为数字。",
    "float_parsing": "应为数字。",
    "bool_type": "应为 true 或 false。",
    "bool_parsing": "应为 true 或 false。",
    "date_type": "应为日期（YYYY-MM-DD）。",
    "date_parsing": "应为日期（YYYY-MM-DD）。",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）。",
    "datetime_type": "应为时间（ISO 8601）。",
    "datetime_parsing": "应为时间（ISO 8601）。",
    "datetime_from_date_parsing": "应为时间（ISO 8601）。",
    "greater_than": "应大于 {gt}。",
    "greater_than_equal": "应不小于 {ge}。",
    "less_than": "应小于 {lt}。",
    "less_than_equal": "应不大于 {le}。",
    "enum": "应为以下之一：{expected}。",
    "literal_error": "应为以下之一：{expected}。",
    "list_type": "应为列表。",
    "too_short": "至少 {min_length} 项。",
    "too_long": "最多 {max_length} 项。",
    "dict_type": "应为对象。",
    "model_attributes_type": "应为对象。",
}


def _field_message(error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    if error["type"] == "value_error" and "error" in ctx:
        # Our validators raise ValueError with a message written for staff.
        return str(ctx["error"])
    template = _FIELD_MESSAGES.get(error["type"])
    if template is None:
        return str(error.get("msg", error["type"]))
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return str(error.get("msg", error["type"]))


_HTTP_ERRORS = {
    400: (ErrorCode.INVALID, "请求内容无法解析，请检查提交的文件或数据格式。"),
    401: (ErrorCode.UNAUTHENTICATED, "需要登录后再访问。"),
    403: (ErrorCode.FORBIDDEN, "没有权限执行此操作。"),
    404: (ErrorCode.NOT_FOUND, "找不到请求的内容。"),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "不支持此请求方法。"),
}


async def _render_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _render_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return ApiError.invalid(validation_field_errors(exc.errors())).response()


async def _render_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_ERRORS.get(exc.status_code, (f"http_{exc.status_code}", "请求无法处理。"))
    # Starlette's and FastAPI's own details are English ("Not Found", "There was an error
    # parsing the body"); a detail a route chose itself is Chinese and kept.
    if isinstance(exc.detail, str) and _CHINESE.search(exc.detail):
        message = exc.detail
    field = "body" if exc.status_code == 400 else None
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return ApiError(exc.status_code, code, message, field=field, headers=headers).response()


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path answers. Starlette names only the first route whose
    path matched, and FastAPI makes one route per method, so its `Allow` would miss the others.
    Each method is asked of the router as a request would be (routes of included routers too)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


_CHINESE = re.compile(r"[\u4e00-\u9fff]")


async def _render_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The traceback is logged by the server; the client learns nothing internal.
    return ApiError(500, ErrorCode.INTERNAL, "服务器内部错误，请稍后重试。").response()
