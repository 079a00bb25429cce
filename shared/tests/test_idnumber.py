"""Resident ID number validation (GB 11643) as the roster import will see it."""

import dataclasses
from datetime import date, timedelta

import pytest
from roadbranch_shared.pii import (
    IdReason,
    check_char,
    make_synthetic_id_number,
    validate_id_number,
)
from stdnum.cn import ric


@pytest.mark.parametrize(
    "first17",
    ["36042619910101007", "11010519491231002", "44052418800101001", "51343619900101123"]
    + [f"5134362000{month:02d}15{serial:03d}" for month in range(1, 13) for serial in (0, 7, 99)],
)
def test_check_char_agrees_with_stdnum(first17: str) -> None:
    assert check_char(first17) == ric.calc_check_digit(first17 + "0")


def test_check_char_of_the_standards_examples() -> None:
    # The two worked examples printed in GB 11643-1999.
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"


@pytest.mark.parametrize("bad", ["1234567890123456", "123456789012345678", "1101051949123100a"])
def test_check_char_needs_17_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="17"):
        check_char(bad)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # GB 11643 example, check character X
        "360426199101010071",  # python-stdnum's documented example
        make_synthetic_id_number("513436", date(1990, 1, 1), 123),
    ],
)
def test_valid_numbers_pass_unchanged(number: str) -> None:
    result = validate_id_number(number)
    assert result.ok
    assert result.normalized == number
    assert result.errors == []
    assert result.warnings == []


def test_real_format_number_with_wrong_check_digit_is_rejected() -> None:
    # The correct check character of 51343619900101123 is 0, not 4.
    result = validate_id_number("513436199001011234")
    assert not result.ok
    assert result.normalized is None
    assert result.errors == [IdReason.CHECK_DIGIT]


def test_every_other_check_character_is_rejected() -> None:
    valid = make_synthetic_id_number("513436", date(1985, 6, 30), 42)
    for wrong in set("0123456789X") - {valid[-1]}:
        assert validate_id_number(valid[:-1] + wrong).errors == [IdReason.CHECK_DIGIT]


def test_lower_case_x_and_surrounding_whitespace_are_normalised() -> None:
    result = validate_id_number("  11010519491231002x\n")
    assert result.ok
    assert result.normalized == "11010519491231002X"


def test_full_width_digits_from_chinese_input_methods_are_normalised() -> None:
    result = validate_id_number("１１０１０５１９４９１２３１００２ｘ")
    assert result.normalized == "11010519491231002X"


def test_february_30_is_not_a_birth_date() -> None:
    first17 = "51343619900230123"
    result = validate_id_number(first17 + check_char(first17))
    assert not result.ok
    assert result.errors == [IdReason.BIRTH_DATE]


def test_february_29_only_in_leap_years() -> None:
    assert validate_id_number(make_synthetic_id_number("513436", date(1992, 2, 29), 1)).ok
    first17 = "51343619930229001"
    assert validate_id_number(first17 + check_char(first17)).errors == [IdReason.BIRTH_DATE]


def test_birth_date_in_the_future_is_rejected() -> None:
    today = date(2025, 3, 1)
    tomorrow = make_synthetic_id_number("513436", today + timedelta(days=1), 1)
    assert validate_id_number(tomorrow, today=today).errors == [IdReason.BIRTH_DATE]
    born_today = make_synthetic_id_number("513436", today, 1)
    assert validate_id_number(born_today, today=today).ok


def test_future_date_against_the_real_clock() -> None:
    next_year = make_synthetic_id_number("513436", date.today() + timedelta(days=400), 1)
    assert validate_id_number(next_year).errors == [IdReason.BIRTH_DATE]


def test_bad_date_and_bad_check_digit_are_both_reported() -> None:
    result = validate_id_number("513436199013011230")
    assert result.errors == [IdReason.BIRTH_DATE, IdReason.CHECK_DIGIT]


def test_legacy_15_digit_number_is_upgraded_to_18() -> None:
    result = validate_id_number("360426910101007")
    assert result.ok
    assert result.normalized == "360426199101010071"
    assert result.warnings == [IdReason.UPGRADED_FROM_15]


def test_legacy_15_digit_number_with_impossible_date_is_rejected() -> None:
    result = validate_id_number("360426910231007")
    assert result.errors == [IdReason.BIRTH_DATE]
    assert result.normalized is None


def test_unknown_area_is_only_a_warning() -> None:
    number = make_synthetic_id_number("990000", date(1990, 1, 1), 1)
    result = validate_id_number(number)
    assert result.ok
    assert result.normalized == number
    assert result.warnings == [IdReason.UNKNOWN_AREA]


def test_area_code_abolished_before_birth_is_a_warning() -> None:
    # 110103 (Chongwen district) was merged away in 2010: fine for 2009, suspicious for 2011.
    assert validate_id_number(make_synthetic_id_number("110103", date(2009, 5, 1), 1)).warnings == []
    late = validate_id_number(make_synthetic_id_number("110103", date(2011, 5, 1), 1))
    assert late.ok
    assert late.warnings == [IdReason.UNKNOWN_AREA]


def test_area_code_introduced_after_birth_is_accepted() -> None:
    # 110112 (Tongzhou district) dates from 1997; people born earlier got it when first issued.
    assert validate_id_number(make_synthetic_id_number("110112", date(1960, 5, 1), 1)).warnings == []


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_empty_input_is_required(raw: str) -> None:
    result = validate_id_number(raw)
    assert result.errors == [IdReason.REQUIRED]
    assert not result.ok


@pytest.mark.parametrize("raw", ["1", "51343619900101123", "5134361990010112300", "5134361990010"])
def test_wrong_length(raw: str) -> None:
    assert validate_id_number(raw).errors == [IdReason.LENGTH]


@pytest.mark.parametrize(
    "raw",
    [
        "51343619900101123A",  # letter other than X at the end
        "1101051949123100X2",  # X not at the end
        "36042691010100X",  # 15-digit numbers have no check character
        "5134361990-1011230",
        "513436 19900101123",
        "٥١٣٤٣٦١٩٩٠٠١٠١١٢٣٠",  # Arabic-Indic digits are digits to Python, not to GB 11643
    ],
)
def test_characters_other_than_digits_and_final_x(raw: str) -> None:
    assert validate_id_number(raw).errors == [IdReason.CHARACTERS]


def test_wrong_length_and_characters_are_both_reported() -> None:
    assert validate_id_number("abc").errors == [IdReason.LENGTH, IdReason.CHARACTERS]


def test_result_cannot_be_changed() -> None:
    result = validate_id_number("360426199101010071")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.ok = False


def test_synthetic_numbers_are_valid_and_distinct() -> None:
    numbers = {make_synthetic_id_number("990000", date(1980, 1, 1), n) for n in range(1000)}
    assert len(numbers) == 1000
    assert all(validate_id_number(number).ok for number in numbers)
    assert make_synthetic_id_number("990000", date(1980, 1, 1), 7)[:17] == "99000019800101007"


@pytest.mark.parametrize(
    ("area", "serial", "problem"),
    [
        ("99000", 1, "area"),
        ("99000a", 1, "area"),
        ("990000", -1, "serial"),
        ("990000", 1000, "serial"),
    ],
)
def test_synthetic_number_arguments_are_checked(area: str, serial: int, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        make_synthetic_id_number(area, date(1980, 1, 1), serial)
