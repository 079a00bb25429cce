"""Mainland mobile number validation."""

import pytest
from roadbranch_shared.pii import PhoneReason, validate_phone


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        " 13812345678 ",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "86-138-1234-5678",
        "0086 13812345678",
        "１３８１２３４５６７８",
    ],
)
def test_accepted_forms_normalise_to_11_digits(raw: str) -> None:
    result = validate_phone(raw)
    assert result.ok
    assert result.normalized == "13812345678"
    assert result.errors == []


@pytest.mark.parametrize("raw", ["19912345678", "16612345678", "14712345678"])
def test_all_mobile_ranges_13_to_19(raw: str) -> None:
    assert validate_phone(raw).normalized == raw


@pytest.mark.parametrize(
    "raw",
    [
        "12812345678",  # no mobile range starts 12
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "010-12345678",  # landline
        "+852 13812345678",  # not mainland
        "138a2345678",
        "+86",
        "(138)12345678",
    ],
)
def test_other_numbers_are_format_errors(raw: str) -> None:
    result = validate_phone(raw)
    assert not result.ok
    assert result.normalized is None
    assert result.errors == [PhoneReason.FORMAT]


@pytest.mark.parametrize("raw", ["", "   ", " - "])
def test_empty_input_is_required(raw: str) -> None:
    assert validate_phone(raw).errors == [PhoneReason.REQUIRED]
