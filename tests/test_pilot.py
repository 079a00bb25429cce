"""The pilot with other numbers than the county briefing's, end to end: the six services as
processes on the real Kafka and FerretDB, the pilot played through their HTTP APIs, and every
figure of the briefing checked, so the figures are seen to follow the data. The seed's own numbers
are checked on the seed county the console's and the driver app's tests share
(tests/seed/test_figures.py)."""

from __future__ import annotations

import pytest
from console_support import played
from pilot import PilotPlan, differences
from roadbranch_shared.devstack import StackInfo

pytestmark = pytest.mark.integration

OTHER_PLAN = PilotPlan(
    drivers_by_source={"freight_company": 7, "freight_platform": 0, "individual": 11},
    members=4,
    other_member_records=2,
    committee_seats=5,
    branch_seats=3,
    co_leaders=1,
    subgroups=3,
    instructors=2,
    party_lessons=2,
    theme_party_days=2,
    content_pushes=2,
    hotline_needs=1,
    station_check_ins=3,
    campaign_member_visits=3,
    campaign_non_member_visits=5,
    items=41,
    problems=("medical",),
    quotes=(("lesson", "1", "跑车在外，也能按时学习。"),),
)


def test_other_numbers_give_other_figures(
    stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with played(stack_info, tmp_path_factory.mktemp("pilot-other"), OTHER_PLAN) as run:
        pilot, figures, text = run["pilot"], run["figures"], run["text"]
    assert differences(pilot.expected_figures(), figures) == []
    assert figures["find"]["drivers_by_source"] == {"freight_company": 7, "individual": 11}
    assert "共核查货车司机18名" in text
    assert "选优配强行业党委委员5名" in text
    assert "慰问党员司机3名，非党员司机5人" in text
    assert "等物品41件" in text
