"""联起来 in the console: a branch secretary ends a committee member's term (refused before it began),
appoints a successor, and logs an N+1 pair's contact; a pairing without members is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from console_support import api, choose, new_page, sign_in
from pilot import DEMO_SECRETARY
from playwright.sync_api import expect

pytestmark = pytest.mark.integration


def beijing_today() -> str:
    return (datetime.now(UTC) + timedelta(hours=8)).date().isoformat()


def test_a_secretary_ends_a_term_appoints_a_successor_and_logs_a_pairs_contact(
    console: dict[str, Any],
) -> None:
    branch = console["pilot"].state["branch"]
    org = api(console, "roster", "GET", f"/v1/organisations/{branch}", "zhuanban")
    today = beijing_today()
    leaving = next(
        s
        for s in org["seats"]
        if s["role"] == "member" and not s.get("ended") and (s.get("term_end") or "9999") >= today
    )
    page = new_page(console)
    sign_in(page, console["url"], DEMO_SECRETARY)
    page.get_by_role("menuitem", name="组织体系").click()
    page.locator("[data-test=org-tree]").get_by_text("县个体货车司机流动党员党支部").click()
    detail = page.locator("[data-test=org-detail]")
    seat = detail.locator("tbody tr", has_text=leaving["person_id"])
    seat.get_by_role("button", name="结束任期").click()
    dialog = page.get_by_role("dialog", name="结束任期")
    before = (datetime.fromisoformat(leaving["term_start"]) - timedelta(days=1)).date().isoformat()
    dialog.get_by_label("任期最后一天").fill(before)
    dialog.get_by_label("任期最后一天").press("Enter")
    dialog.get_by_role("button", name="结束任期").click()
    expect(dialog.locator(".el-form-item__error")).to_be_visible()  # before the term began
    dialog.get_by_label("任期最后一天").fill(today)
    dialog.get_by_label("任期最后一天").press("Enter")
    dialog.get_by_role("button", name="结束任期").click()
    expect(dialog).to_be_hidden()
    expect(seat).to_contain_text(f"至 {today}")

    successor = "staff-branch-new"
    form = detail.locator("[data-test=seat-form]")
    choose(page, "职务", "委员")
    form.get_by_label("人员编号").fill(successor)
    form.get_by_role("button", name="任命").click()
    expect(detail.locator("tbody tr", has_text=successor)).to_contain_text("在任")
    console["shots"].take(page, "console-seats")
    seats = api(console, "roster", "GET", f"/v1/organisations/{branch}", "zhuanban")["seats"]
    (ended,) = [s for s in seats if s.get("seat_id") == leaving["seat_id"]]
    assert ended["term_end"] == today
    assert [s["role"] for s in seats if s["person_id"] == successor] == ["member"]

    page.get_by_role("menuitem", name="结对帮带").click()
    pairings = api(console, "roster", "GET", f"/v1/organisations/{branch}/pairings", "zhuanban")["pairings"]
    rows = page.locator("[data-test=pairings] > .el-table__inner-wrapper tbody > tr.el-table__row")
    expect(rows).to_have_count(len(pairings))
    page.get_by_role("button", name="新建结对").click()
    creating = page.get_by_role("dialog", name="新建结对")
    creating.get_by_role("button", name="结对").click()
    expect(creating.locator(".el-form-item__error").first).to_be_visible()  # nobody chosen
    page.keyboard.press("Escape")

    first = pairings[0]
    row = rows.filter(has_text=first["committee_person_id"]).first
    row.get_by_role("button", name="记录联系").click()
    logging = page.get_by_role("dialog", name="记录联系")
    choose(page, "方式", "走访")
    logging.get_by_label("情况").fill("到修理厂看望，车辆年检已办好")
    logging.get_by_role("button", name="记录").click()
    expect(logging).to_be_hidden()
    row.locator(".el-table__expand-icon").click()
    expect(page.locator("[data-test=contacts]").first).to_contain_text("车辆年检已办好")
    console["shots"].take(page, "console-pairings")
    (logged,) = [
        p
        for p in api(console, "roster", "GET", f"/v1/organisations/{branch}/pairings", "zhuanban")["pairings"]
        if p["pairing_id"] == first["pairing_id"]
    ]
    assert [(c["channel"], c["notes"]) for c in logged["contacts"]][-1] == (
        "visit",
        "到修理厂看望，车辆年检已办好",
    )
