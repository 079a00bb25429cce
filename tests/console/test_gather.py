"""聚起来 in the console: a branch secretary sees his branch's seats, schedules a lesson, shows the
check-in code, records attendance and pushes learning content."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_support import api, choose, new_page, sign_in
from pilot import DEMO_SECRETARY
from playwright.sync_api import expect

pytestmark = pytest.mark.integration


def lesson(console: dict[str, Any]) -> dict[str, Any]:
    meetings = api(console, "activities", "GET", "/v1/meetings?limit=200", "zhuanban")["meetings"]
    (meeting,) = [m for m in meetings if "道路交通安全法" in m["topic"]]
    return dict(api(console, "activities", "GET", f"/v1/meetings/{meeting['meeting_id']}", "zhuanban"))


def test_a_secretary_schedules_a_lesson_and_records_attendance(console: dict[str, Any]) -> None:
    page = new_page(console)
    sign_in(page, console["url"], DEMO_SECRETARY)
    expect(page.get_by_role("menuitem", name="名单导入")).to_have_count(0)
    page.get_by_role("menuitem", name="组织体系").click()
    page.locator("[data-test=org-tree]").get_by_text("县个体货车司机流动党员党支部").click()
    detail = page.locator("[data-test=org-detail]")
    expect(detail).to_contain_text("书记")
    expect(detail).to_contain_text("在任")
    console["shots"].take(page, "console-organisations")
    page.get_by_role("menuitem", name="会议与党课").click()
    page.get_by_role("button", name="安排会议").click()
    dialog = page.get_by_role("dialog", name="安排会议")
    choose(page, "组织", "县个体货车司机流动党员党支部")
    # Without a topic and a time, each field says what is missing.
    dialog.get_by_role("button", name="安排").click()
    expect(dialog.locator(".el-form-item__error").first).to_be_visible()
    dialog.get_by_label("主题").fill("学习新修订的《道路交通安全法》")
    dialog.get_by_label("开始时间").fill("2031-03-05 19:30")
    dialog.get_by_label("开始时间").press("Enter")
    dialog.get_by_label("场所名称").fill("俄普修理厂")
    dialog.get_by_role("button", name="安排").click()
    row = page.locator("[data-test=meetings] tbody tr", has_text="道路交通安全法")
    expect(row).to_contain_text("2031-03-05 19:30")  # Beijing time, though the browser is in London
    expect(row).to_contain_text("党课")
    console["shots"].take(page, "console-meetings")

    row.get_by_role("button", name="签到码").click()
    code = page.locator("[data-test=check-in-code]")
    expect(code).to_have_text(re.compile(r"^\s*\d{4,8}\s*$"))
    expect(page.get_by_role("img", name="签到二维码")).to_be_visible()
    console["shots"].take(page, "console-check-in-code")
    page.keyboard.press("Escape")

    row.get_by_role("button", name="签到表").click()
    sheet = page.locator("[data-test=attendance-sheet]")
    lines = sheet.locator("tbody tr")
    expect(lines.first).to_be_visible()
    invited = lines.count()
    assert invited >= 2
    lines.nth(0).get_by_text("请假").click()
    lines.nth(0).get_by_label("第1人原因").fill("在途，正在送货去西昌")
    lines.nth(1).get_by_text("线上参加").click()
    lines.nth(1).get_by_label("代为登记").check()
    console["shots"].take(page, "console-attendance")
    page.get_by_role("button", name="保存签到表").click()
    # Recorded on his behalf without a reason: refused, the reason shown on his line, nothing saved.
    expect(lines.nth(1)).to_contain_text("代为登记须写明原因")
    assert not lesson(console).get("attendance")
    lines.nth(1).get_by_label("第2人原因").fill("本人在途，电话告知线上参加")
    page.get_by_role("button", name="保存签到表").click()
    expect(sheet).to_be_hidden()

    page.get_by_role("menuitem", name="学习推送").click()
    page.get_by_role("button", name="推送学习内容").click()
    dialog = page.get_by_role("dialog", name="推送学习内容")
    dialog.get_by_role("button", name="推送").click()
    expect(dialog.locator(".el-form-item__error").first).to_be_visible()  # no title
    dialog.get_by_label("标题").fill("冬季山区道路安全驾驶要点")
    dialog.get_by_text("安全驾驶").click()
    choose(page, "党组织", "县个体货车司机流动党员党支部")
    dialog.get_by_label("正文").fill("雨雪天气减速慢行，保持车距。")
    dialog.get_by_role("button", name="推送").click()
    pushed = page.locator("[data-test=contents] tbody tr", has_text="冬季山区道路安全驾驶要点")
    expect(pushed).to_contain_text("安全驾驶")
    contents = api(console, "activities", "GET", "/v1/contents?limit=200", "zhuanban")["contents"]
    (content,) = [c for c in contents if c["title"] == "冬季山区道路安全驾驶要点"]
    assert content["category"] == "road_safety"
    assert content["figures"]["audience"] > 0
    expect(pushed.locator("td").nth(4)).to_have_text(str(content["figures"]["audience"]))
    expect(pushed.locator("td").nth(5)).to_have_text("0.0%")  # nobody has opened it yet
    console["shots"].take(page, "console-contents")

    meeting = lesson(console)
    first, second = meeting["invitees"][:2]
    attendance = meeting["attendance"]
    assert attendance[first]["status"] == "leave"
    assert attendance[first]["reason"] == "在途，正在送货去西昌"
    assert attendance[second]["status"] == "online"
    assert attendance[second]["way"] == "proxy"
    assert meeting["starts_at"].startswith("2031-03-05T11:30")
