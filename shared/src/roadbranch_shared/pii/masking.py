"""Masked forms of ID numbers, phone numbers and names for screens, exports and briefings.

Each mask keeps enough for staff who know the person to recognise the record, and
always hides at least one character, whatever the input.
"""

from __future__ import annotations

MASK = "*"


def mask_id_number(number: str) -> str:
    """Keep the first 4 and last 4 characters: "5134**********123X"."""
    return _mask_middle(number.strip(), keep_start=4, keep_end=4)


def mask_phone(number: str) -> str:
    """Keep the first 3 and last 4 digits: "138****5678"."""
    return _mask_middle(number.strip(), keep_start=3, keep_end=4)


def mask_name(name: str) -> str:
    """Keep the first character and, from three characters on, the last: never more than two.

    "张*" (2 characters), "张*丰" (3, as Chinese forms mask), "吉**哈" (4, a Yi name), "买****力"
    (6). The surname or the first syllable of a Yi name stays readable; a long name loses all its
    middle ("吉*拉哈" showed three of four characters).
    """
    name = name.strip()
    return _mask_middle(name, keep_start=1, keep_end=1 if len(name) >= 3 else 0)


def _mask_middle(text: str, *, keep_start: int, keep_end: int) -> str:
    if len(text) <= keep_start + keep_end:
        # Too short to keep anything without giving the whole value away.
        return MASK * len(text)
    end = len(text) - keep_end
    return text[:keep_start] + MASK * (end - keep_start) + text[end:]
