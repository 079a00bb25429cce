"""Masked forms shown on screens and in exports."""

import pytest
from roadbranch_shared.pii import mask_id_number, mask_name, mask_phone


def test_id_number_keeps_first_and_last_four() -> None:
    assert mask_id_number("513436199001011234") == "5134**********1234"
    assert mask_id_number("11010519491231002X") == "1101**********002X"


def test_legacy_id_number_masks_the_middle_too() -> None:
    assert mask_id_number("360426910101007") == "3604*******1007"


def test_phone_keeps_first_three_and_last_four() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone(" 13812345678 ") == "138****5678"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张", "*"),
        ("张三", "张*"),
        ("张三丰", "张*丰"),
        ("阿地惹口", "阿**口"),
        ("吉克拉哈", "吉**哈"),
        ("吉克阿依", "吉**依"),
        ("买买提·艾力", "买****力"),
        (" 张三 ", "张*"),
        ("", ""),
    ],
)
def test_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize("short", ["1", "1234", "12345678"])
def test_too_short_id_numbers_are_masked_entirely(short: str) -> None:
    assert mask_id_number(short) == "*" * len(short)


@pytest.mark.parametrize("short", ["1", "1234567"])
def test_too_short_phones_are_masked_entirely(short: str) -> None:
    assert mask_phone(short) == "*" * len(short)
