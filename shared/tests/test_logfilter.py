"""ID and mobile numbers never reach log output; other long numbers stay readable."""

import logging
from collections.abc import Iterator

import pytest
from roadbranch_shared.pii import (
    PiiInLogError,
    PiiRedactingFilter,
    find_pii,
    install_pii_filter,
    redact_pii,
)

ID = "[REDACTED:id_number]"
PHONE = "[REDACTED:phone]"


class ListHandler(logging.Handler):
    """Keeps formatted lines and the records, as a real handler would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
            self.records.append(record)
        except Exception:
            self.handleError(record)  # what logging's own handlers do


@pytest.fixture
def handler() -> Iterator[ListHandler]:
    logger = logging.getLogger("test.logfilter")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = ListHandler()
    handler.addFilter(PiiRedactingFilter())
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id 513436199001011230 ok", f"id {ID} ok"),
        ("id=11010519491231002X", f"id={ID}"),
        ("id 11010519491231002x.", f"id {ID}."),
        ("身份证号513436199001011230，", f"身份证号{ID}，"),
        ("legacy 360426910101007", f"legacy {ID}"),
        ("call 13812345678 now", f"call {PHONE} now"),
        ("tel:13812345678", f"tel:{PHONE}"),
        ("手机13812345678。", f"手机{PHONE}。"),
        ("+86 138 1234 5678", PHONE),
        ("+8613812345678", PHONE),
        ("0086-13812345678", PHONE),
        ("138-1234-5678", PHONE),
        ("a 13812345678 b 513436199001011230", f"a {PHONE} b {ID}"),
    ],
)
def test_redacts_id_and_phone_numbers(text: str, expected: str) -> None:
    assert redact_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ts=1715000000000",  # ms timestamp, 13 digits starting 17
        "ts=1715000000",  # s timestamp
        "ts=1715000000000123",  # us timestamp, 16 digits
        "ts=1715000000000123456",  # ns timestamp, 19 digits
        "offset=13812345678901",  # 14 digits containing a mobile-looking run
        "snowflake=1380123456789012345",  # 19 digits
        "offset=12345678901234567890",
        "id=123456789012345678",  # 18 digits without a plausible birth date
        "duration=0.13812345678",  # fraction of a float
        "value=13812345678.25",
        "count=12812345678",  # 11 digits, no mobile range 12
        "trace=4bf92f3577b34da6a3ce929d0e0e4736",
    ],
)
def test_leaves_other_numbers_alone(text: str) -> None:
    assert redact_pii(text) == text
    assert find_pii(text) == []


def test_find_pii_names_kinds_not_values() -> None:
    assert find_pii("13812345678 and 513436199001011230") == ["id_number", "phone"]


def test_message_and_args_are_redacted(handler: ListHandler) -> None:
    logger = logging.getLogger("test.logfilter")
    logger.info("driver %s phone %s imported", "513436199001011230", "13812345678")
    assert handler.lines == [f"driver {ID} phone {PHONE} imported"]
    assert handler.records[0].args == (ID, PHONE)


def test_number_passed_as_int_is_redacted(handler: ListHandler) -> None:
    logging.getLogger("test.logfilter").info("phone %d", 13812345678)
    assert handler.lines == [f"phone {PHONE}"]


def test_mapping_args_are_redacted(handler: ListHandler) -> None:
    logging.getLogger("test.logfilter").info("phone %(phone)s", {"phone": "13812345678"})
    assert handler.lines == [f"phone {PHONE}"]


def test_object_whose_str_carries_a_number_is_redacted(handler: ListHandler) -> None:
    class Row:
        def __str__(self) -> str:
            return "Row(id=513436199001011230)"

    logging.getLogger("test.logfilter").warning("bad row %s", Row())
    assert handler.lines == [f"bad row Row(id={ID})"]


def test_extra_fields_are_redacted(handler: ListHandler) -> None:
    logging.getLogger("test.logfilter").info(
        "imported",
        extra={
            "raw": "513436199001011230",
            "phone_int": 13812345678,
            "row": {"phone": "13812345678", "cells": ["11010519491231002X", 7]},
            "rows": 64,
        },
    )
    fields = vars(handler.records[0])
    assert fields["raw"] == ID
    assert fields["phone_int"] == PHONE
    assert fields["row"] == {"phone": PHONE, "cells": [ID, 7]}
    assert fields["rows"] == 64


def test_traceback_is_redacted(handler: ListHandler) -> None:
    logger = logging.getLogger("test.logfilter")
    try:
        raise ValueError("no member with id 513436199001011230")
    except ValueError:
        logger.exception("cross-check failed")
    (line,) = handler.lines
    assert "ValueError: no member with id [REDACTED:id_number]" in line
    assert "513436199001011230" not in line


def test_records_without_pii_are_unchanged(handler: ListHandler) -> None:
    logging.getLogger("test.logfilter").info("offset %d of %s", 1715000000000, "drivers")
    assert handler.lines == ["offset 1715000000000 of drivers"]
    assert handler.records[0].args == (1715000000000, "drivers")


def test_malformed_logging_call_does_not_raise_into_the_caller(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Handed to the handler directly: pytest's own capture handlers fail any test
    # whose logging call is malformed.
    handler = ListHandler()
    handler.addFilter(PiiRedactingFilter())
    record = logging.LogRecord("roster", logging.INFO, __file__, 1, "phone %d", ("13812345678",), None)
    handler.handle(record)
    assert handler.lines == []
    # logging reports the broken call on stderr, with the number already redacted.
    report = capsys.readouterr().err
    assert "TypeError" in report
    assert PHONE in report
    assert "13812345678" not in report


def test_strict_mode_raises_naming_the_kind_not_the_value() -> None:
    logger = logging.getLogger("test.logfilter.strict")
    logger.propagate = False
    handler = ListHandler()
    handler.addFilter(PiiRedactingFilter(refuse=True))
    logger.addHandler(handler)
    try:
        with pytest.raises(PiiInLogError, match="contains phone") as raised:
            logger.warning("call %s", "13812345678")
        assert "13812345678" not in str(raised.value)
        with pytest.raises(PiiInLogError, match="contains id_number"):
            logger.warning("imported", extra={"raw": "513436199001011230"})
        logger.warning("imported %d rows", 64)
        assert handler.lines == ["imported 64 rows"]
    finally:
        logger.removeHandler(handler)


def test_install_filters_records_from_child_loggers() -> None:
    parent = logging.getLogger("test.install")
    parent.propagate = False
    parent.setLevel(logging.INFO)
    handler = ListHandler()
    parent.addHandler(handler)
    try:
        install_pii_filter(parent)
        install_pii_filter(parent)
        assert len(handler.filters) == 1
        logging.getLogger("test.install.roster").info("phone 13812345678")
        assert handler.lines == [f"phone {PHONE}"]
    finally:
        parent.removeHandler(handler)


def test_install_defaults_to_the_root_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only our handler on the root, so pytest's own handlers stay unfiltered.
    handler = ListHandler()
    monkeypatch.setattr(logging.getLogger(), "handlers", [handler])
    installed = install_pii_filter(refuse=True)
    assert handler.filters == [installed]
    assert installed.refuse
