"""Control characters (C0, DEL, C1) are refused in every text a client sends: in JSON bodies and
query parameters, at the door of every service, with 422 naming the field.

Such characters print as nothing or as garbage in the briefing, in a spreadsheet and on a phone,
and can hide one name inside another. Multi-line text (notes, a driver's words) may hold line
breaks and tabs; a name or a title (`name`, `*_name`, `title`) may not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roadbranch_shared.errors import ApiError, FieldError

# Everything below space but tab, line feed and carriage return; DEL; the C1 block.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f]")
REASON = "control_characters"
MESSAGE = "含有不可见的控制字符，请删除后重新提交。"
BREAK_MESSAGE = "名称中不能有换行、制表符或其他控制字符。"


def is_single_line(key: str) -> bool:
    return key == "name" or key.endswith("_name") or key == "title"


# The same rules as JSON-schema patterns, spelt out so Python's re and ECMA read them alike: the
# characters refused in text (tab, line feed and carriage return are allowed), as a class body
# another pattern can include (e.g. an id's), and those refused in a single line.
CONTROL_CLASS = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
LINE_CONTROL_CLASS = "\\u0000-\\u001f\\u007f-\\u009f"
# What str.strip() removes, but the control characters refused anyway (\x1c-\x1f, \x85).
SPACE_CLASS = "\\u0009-\\u000d\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"


def text_pattern(key: str, *, not_blank: bool = False) -> str:
    """The pattern of a free text named `key`: no character it may not hold, and, for a text a
    request requires, at least one that is not a space (a blank is as missing as no text)."""
    refused = LINE_CONTROL_CLASS if is_single_line(key) else CONTROL_CLASS
    if not_blank:
        return f"^[^{refused}]*[^{SPACE_CLASS}{refused}][^{refused}]*$"
    return f"^[^{refused}]*$"


def control_character_problem(key: str, value: str) -> str | None:
    """The message for a text with a character it may not hold, or None."""
    if is_single_line(key):
        return BREAK_MESSAGE if CONTROL_OR_BREAK.search(value) else None
    return MESSAGE if CONTROL.search(value) else None


def _walk(value: Any, path: str, key: str) -> Iterator[FieldError]:
    if isinstance(value, str):
        problem = control_character_problem(key, value)
        if problem:
            yield FieldError(path, REASON, problem)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}", str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}.{i}", key)


def control_character_errors(body: Any, query: list[tuple[str, str]]) -> list[FieldError]:
    errors = [e for name, value in query for e in _walk(value, f"query.{name}", name)]
    return errors + list(_walk(body, "body", ""))


class RefuseControlCharacters:
    """ASGI middleware: reads a JSON body once, checks it and the query, and hands the same bytes
    on (a body that is no JSON is left to the route's own validation)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
        headers = dict(scope.get("headers") or [])
        is_json = headers.get(b"content-type", b"").split(b";")[0].strip().endswith(b"json")
        chunks: list[bytes] = []
        if is_json:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
        body: Any = None
        if chunks:
            try:
                body = json.loads(b"".join(chunks))
            except ValueError:
                body = None
        errors = control_character_errors(body, query)
        if errors:
            response = ApiError.invalid(errors).response()
            await response(scope, receive, send)
            return
        if not is_json:
            await self.app(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
