"""Services log one JSON object a line, with personal data redacted."""

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from roadbranch_shared.logs import _ServiceHandler, configure_logging


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield io.StringIO()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_a_line(stream: io.StringIO) -> None:
    configure_logging("roster", stream=stream)
    before = datetime.now(UTC)
    logging.getLogger("roster.importer").info("imported %d rows", 64, extra={"batch": "b-1"})
    logging.getLogger("roster.importer").warning("第二行")
    first, second = lines(stream)
    assert first["level"] == "INFO"
    assert first["logger"] == "roster.importer"
    assert first["message"] == "imported 64 rows"
    assert first["service"] == "roster"
    assert first["batch"] == "b-1"
    logged_at = datetime.fromisoformat(first["time"])
    assert logged_at.utcoffset() == timedelta(0)
    assert abs((logged_at - before).total_seconds()) < 60
    assert second["message"] == "第二行"
    assert "第二行" in stream.getvalue()  # readable, not \\u-escaped


def test_exception_is_logged_as_text(stream: io.StringIO) -> None:
    configure_logging("roster", stream=stream)
    try:
        raise RuntimeError("broker unreachable")
    except RuntimeError:
        logging.getLogger("roster").exception("publish failed")
    (entry,) = lines(stream)
    assert entry["level"] == "ERROR"
    assert entry["exc_info"].startswith("Traceback")
    assert "RuntimeError: broker unreachable" in entry["exc_info"]


def test_personal_data_is_redacted(stream: io.StringIO) -> None:
    configure_logging("roster", stream=stream)
    logging.getLogger("roster").info(
        "driver %s called from %s", "513436199001011230", "13812345678", extra={"tel": 13812345678}
    )
    (entry,) = lines(stream)
    assert entry["message"] == "driver [REDACTED:id_number] called from [REDACTED:phone]"
    assert entry["tel"] == "[REDACTED:phone]"
    assert "513436199001011230" not in stream.getvalue()


def test_objects_in_extra_are_written_as_redacted_text(stream: io.StringIO) -> None:
    class Row:
        def __str__(self) -> str:
            return "Row(phone=13812345678)"

    configure_logging("roster", stream=stream)
    logging.getLogger("roster").info("bad row", extra={"row": Row()})
    assert lines(stream)[0]["row"] == "Row(phone=[REDACTED:phone])"


def test_extra_named_like_a_core_field_is_kept(stream: io.StringIO) -> None:
    configure_logging("roster", stream=stream)
    logging.getLogger("roster").info("hi", extra={"service": "welfare", "level": "x"})
    (entry,) = lines(stream)
    assert entry["service"] == "roster"
    assert entry["extra_service"] == "welfare"
    assert entry["extra_level"] == "x"


def test_level_is_applied(stream: io.StringIO) -> None:
    configure_logging("roster", level="warning", stream=stream)
    logging.getLogger("roster").info("hidden")
    logging.getLogger("roster").warning("shown")
    assert [entry["message"] for entry in lines(stream)] == ["shown"]


def test_calling_twice_keeps_one_handler(stream: io.StringIO) -> None:
    root = logging.getLogger()
    # Not counting a JSON handler an earlier test in this process may have installed.
    count_before = len([h for h in root.handlers if not isinstance(h, _ServiceHandler)])
    first = configure_logging("roster", stream=stream)
    second = configure_logging("welfare", level="DEBUG")
    assert first is second
    assert len(root.handlers) == count_before + 1
    logging.getLogger("welfare").debug("once")
    (entry,) = lines(stream)
    assert entry["service"] == "welfare"


def test_unknown_level_is_refused(stream: io.StringIO) -> None:
    with pytest.raises(ValueError, match="LOUD"):
        configure_logging("roster", level="LOUD", stream=stream)
