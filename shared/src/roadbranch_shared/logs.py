"""Structured logging for services: one JSON object a line, personal data redacted."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from roadbranch_shared.pii.logfilter import (
    STANDARD_RECORD_ATTRIBUTES,
    PiiRedactingFilter,
    redact_pii,
)


class JsonFormatter(logging.Formatter):
    """Renders a record as one JSON line: time, level, logger, message, service, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        for key, value in vars(record).items():
            if key not in STANDARD_RECORD_ATTRIBUTES and key not in _DROPPED_EXTRAS:
                # An extra named like a core field is kept beside it, not dropped.
                entry[f"extra_{key}" if key in entry else key] = value
        return json.dumps(entry, ensure_ascii=False, default=_json_fallback)


# uvicorn repeats its message with terminal colour codes; the plain message is enough.
_DROPPED_EXTRAS = frozenset({"color_message"})


class _ServiceHandler(logging.StreamHandler[TextIO]):
    """Marks the handler configure_logging owns, so a second call reuses it."""


def configure_logging(service: str, level: str = "INFO", *, stream: TextIO | None = None) -> logging.Handler:
    """Send all logging through one JSON handler on the root logger (stderr by default).

    Calling it again updates the service name, level and stream instead of adding a
    second handler. Handlers installed by others (e.g. pytest's) are left in place.
    """
    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = next((h for h in root.handlers if isinstance(h, _ServiceHandler)), None)
    if handler is None:
        handler = _ServiceHandler(stream or sys.stderr)
        handler.addFilter(PiiRedactingFilter())
        root.addHandler(handler)
    elif stream is not None:
        handler.setStream(stream)
    handler.setFormatter(JsonFormatter(service))
    route_library_logs()
    # httpx logs every request's URL at INFO; some providers' URLs carry secrets as query
    # parameters (WeChat Work's corpsecret and access_token), so only its warnings are kept.
    for name in QUIET_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


# Libraries that install their own plain-text handlers; their records go through ours instead.
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "faststream.access")
QUIET_LIBRARY_LOGGERS = ("httpx", "httpcore")


def route_library_logs() -> None:
    """Make uvicorn's and FastStream's loggers propagate to the JSON handler (and its PII filter)."""
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True


def _json_fallback(value: object) -> str:
    # str() of an arbitrary object is written only after the redaction filter ran.
    return redact_pii(str(value))
