"""A logging filter that keeps ID numbers and mobile numbers out of log output.

Attach it to handlers (`install_pii_filter`): filters on a logger do not see records
propagated from child loggers.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# A number counts only when no digit touches it, and it is not the fraction or the
# integer part of a decimal: ms timestamps (13 digits), Kafka offsets and float
# durations do not contain a match.
_START = r"(?<![0-9])(?<![0-9]\.)"
_END = r"(?![0-9])(?!\.[0-9])"
_MONTH_DAY = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
# Area, year 18xx-20xx, month, day, serial, check character.
_ID_18 = rf"[1-9][0-9]{{5}}(?:18|19|20)[0-9]{{2}}{_MONTH_DAY}[0-9]{{3}}[0-9Xx]"
# Legacy form: area, two-digit year, month, day, serial.
_ID_15 = rf"[1-9][0-9]{{7}}{_MONTH_DAY}[0-9]{{3}}"
# Mobile, optionally with a country code and 3-4-4 grouping by a space or dash.
_MOBILE = r"(?:(?:\+|00)?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}"
_PATTERNS = tuple(
    (kind, re.compile(_START + pattern + _END))
    for kind, pattern in (("id_number", _ID_18), ("id_number", _ID_15), ("phone", _MOBILE))
)

# Attributes every LogRecord has; anything else was passed with `extra=`.
STANDARD_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class PiiInLogError(AssertionError):
    """Raised in strict mode when a log record would carry personal data."""


def _marker(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def find_pii(text: str) -> list[str]:
    """The kinds of personal data found in `text` ("id_number", "phone"), in order checked."""
    return [kind for kind, pattern in _PATTERNS if pattern.search(text)]


def redact_pii(text: str) -> str:
    """`text` with every ID number and mobile number replaced by a redaction marker."""
    for kind, pattern in _PATTERNS:
        text = pattern.sub(_marker(kind), text)
    return text


class PiiRedactingFilter(logging.Filter):
    """Redacts personal data in a record's message, args, extra fields and traceback.

    With `refuse=True` (for tests) it raises PiiInLogError instead, so a leak fails
    the test that caused it.
    """

    def __init__(self, *, refuse: bool = False) -> None:
        super().__init__()
        self.refuse = refuse

    def filter(self, record: logging.LogRecord) -> bool:
        if self.refuse:
            self._refuse(record)
            return True
        if isinstance(record.msg, str):
            record.msg = redact_pii(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_str(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact_str(arg) for key, arg in record.args.items()}
        for key in _extra_keys(record):
            setattr(record, key, _redact_extra(getattr(record, key)))
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text, so the redacted traceback is what gets written.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_pii(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_pii(record.stack_info)
        # Arguments whose str() carries the data (ints, objects) show up only once
        # formatted: then the record keeps the redacted final message instead.
        message = _message_or_none(record)
        if message is not None and find_pii(message):
            record.msg, record.args = redact_pii(message), None
        return True

    def _refuse(self, record: logging.LogRecord) -> None:
        texts = [str(record.msg), repr(record.args)]
        texts += [str(getattr(record, key)) for key in _extra_keys(record)]
        texts.append(_message_or_none(record) or "")
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
        kinds = sorted({kind for text in texts for kind in find_pii(text)})
        if kinds:
            # Name the kinds and the call site, never the value itself.
            raise PiiInLogError(
                f"log record from {record.name} ({record.pathname}:{record.lineno}) "
                f"contains {', '.join(kinds)}"
            )


def install_pii_filter(logger: logging.Logger | None = None, *, refuse: bool = False) -> PiiRedactingFilter:
    """Attach a PiiRedactingFilter to every handler of `logger` (the root logger by default).

    Handlers that already have one are left alone, so calling this twice is harmless.
    """
    target = logger or logging.getLogger()
    pii_filter = PiiRedactingFilter(refuse=refuse)
    for handler in target.handlers:
        if not any(isinstance(f, PiiRedactingFilter) for f in handler.filters):
            handler.addFilter(pii_filter)
    return pii_filter


def _extra_keys(record: logging.LogRecord) -> list[str]:
    return [key for key in vars(record) if key not in STANDARD_RECORD_ATTRIBUTES]


def _message_or_none(record: logging.LogRecord) -> str | None:
    try:
        return record.getMessage()
    except (TypeError, ValueError, KeyError):
        # A malformed logging call is reported by the handler (handleError), not by
        # raising into the code that logged.
        return None


def _redact_str(value: object) -> object:
    # Only strings are replaced in args: a marker in place of an int would break "%d".
    return redact_pii(value) if isinstance(value, str) else value


def _redact_extra(value: Any) -> Any:
    if isinstance(value, str):
        return redact_pii(value)
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        redacted = redact_pii(text)
        return value if redacted == text else redacted
    if isinstance(value, dict):
        return {key: _redact_extra(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_extra(item) for item in value]
    return value
