"""Each service's events keep the CloudEvents `source` they have always carried."""

import pytest
from roadbranch_shared.events import source_of


@pytest.mark.parametrize(
    ("service", "part", "source"),
    [
        ("activities", None, "/services/activities"),
        ("identity", None, "/identity"),
        ("notify", None, "/notify"),
        ("notify", "staff", "/notify/staff"),
        ("roster", None, "/roadbranch/roster"),
        ("welfare", None, "/roadbranch/welfare"),
    ],
)
def test_a_service_stamps_the_source_it_always_published(service: str, part: str | None, source: str) -> None:
    assert source_of(service, part) == source


def test_an_unknown_service_has_no_source() -> None:
    with pytest.raises(KeyError):
        source_of("briefing")
