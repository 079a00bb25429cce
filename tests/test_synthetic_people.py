"""The synthetic people of the test modules: every module shares the session's Kafka, so two modules
must never make the same person under two driver ids (notify once sent one phone two messages so)."""

from __future__ import annotations

from roster_support import synthetic_people


def test_two_prefixes_of_one_year_share_no_id_number_and_no_phone() -> None:
    first = synthetic_people("自检甲", 5, 1990)
    second = synthetic_people("自检乙", 5, 1990)
    assert not {i for _, i, _ in first} & {i for _, i, _ in second}
    assert not {p for _, _, p in first} & {p for _, _, p in second}


def test_a_prefix_asked_again_gives_the_same_people() -> None:
    few = synthetic_people("自检丙", 2, 1991)
    synthetic_people("自检丁", 3, 1991)
    assert synthetic_people("自检丙", 4, 1991)[:2] == few
    assert len({p for _, _, p in synthetic_people("自检丙", 4, 1991)}) == 4
