"""聚起来 in the console: a branch secretary sees his branch's seats, schedules a lesson, shows the
check-in code, records attendance and pushes learning content; keeps the question bank, finds a held
meeting in the calendar, sets its make-up quiz and records a driver's words with his consent; the
organisation department reads and changes a branch's compliance."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
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
    dialog.get_by_text("道路安全").click()
    choose(page, "党组织", "县个体货车司机流动党员党支部")
    dialog.get_by_label("正文").fill("雨雪天气减速慢行，保持车距。")
    dialog.get_by_role("button", name="推送").click()
    pushed = page.locator("[data-test=contents] tbody tr", has_text="冬季山区道路安全驾驶要点")
    expect(pushed).to_contain_text("道路安全")
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


def beijing_day(instant: str) -> date:
    return datetime.fromisoformat(instant).astimezone(timezone(timedelta(hours=8))).date()


def held_with_leave(console: dict[str, Any]) -> dict[str, Any]:
    """The seed's latest held meeting of the branch with someone on leave (the pilot's last invitee)."""
    meetings = api(console, "activities", "GET", "/v1/meetings?status=held&limit=200", "zhuanban")["meetings"]
    for listed in sorted(meetings, key=lambda m: m["starts_at"], reverse=True):
        meeting = api(console, "activities", "GET", f"/v1/meetings/{listed['meeting_id']}", "zhuanban")
        if meeting["figures"]["on_leave"] and meeting["organisation_id"] == console["pilot"].state["branch"]:
            return dict(meeting)
    raise AssertionError("the seed holds no meeting with someone on leave")


def test_a_secretary_keeps_the_question_bank_sets_a_make_up_quiz_and_records_a_drivers_words(
    console: dict[str, Any],
) -> None:
    meeting = held_with_leave(console)
    page = new_page(console)
    sign_in(page, console["url"], DEMO_SECRETARY)

    page.get_by_role("menuitem", name="题库").click()
    page.get_by_role("button", name="添加题目").click()
    dialog = page.get_by_role("dialog", name="添加题目")
    dialog.get_by_role("button", name="加入题库").click()
    expect(dialog.locator(".el-form-item__error").first).to_be_visible()  # no question text
    dialog.get_by_label("题目").fill("夜间会车时，距对面来车多远应改用近光灯？")
    dialog.get_by_label("选项 A").fill("150米以外")
    dialog.get_by_label("选项 B").fill("50米以内")
    dialog.get_by_role("button", name="加入题库").click()
    bank = page.locator("[data-test=questions] tbody tr", has_text="夜间会车时")
    expect(bank).to_contain_text("道路安全")
    expect(bank).to_contain_text("A. 150米以外")

    # The calendar opens on this month; the seed's meeting is on a recent day, a month or two back.
    page.get_by_role("menuitem", name="会议与党课").click()
    page.get_by_text("日历", exact=True).click()
    calendar = page.locator("[data-test=meetings-calendar]")
    day = beijing_day(meeting["starts_at"])
    expect(calendar.locator(".el-calendar__title")).to_be_visible()
    for _ in range(3):
        if (
            calendar.locator(".el-calendar__title").inner_text().replace(" ", "")
            == f"{day.year}年{day.month}月"
        ):
            break
        calendar.get_by_text("上个月").click()
    calendar.get_by_role("button", name=re.compile(re.escape(meeting["topic"]))).first.click()
    detail = page.locator("[data-test=meeting-detail]")
    figures = detail.locator("[data-test=meeting-figures]")
    expect(figures).to_contain_text(f"应到{meeting['figures']['invited']}")
    expect(figures).to_contain_text("请假1")
    console["shots"].take(page, "console-meeting-detail")

    detail.get_by_role("tab", name="补学").click()
    missed = detail.locator("[data-test=make-up] tbody tr")
    expect(missed).to_have_count(1)
    expect(missed).to_contain_text("长途运输在外")
    expect(missed).to_contain_text("未完成")
    expect(detail).to_contain_text("还没有补学测试")

    detail.get_by_role("tab", name="测试").click()
    detail.get_by_label("测试名称").fill("补学测试：夜间安全驾驶")
    detail.locator("[data-test=quiz-questions]").get_by_text("夜间会车时").click()
    detail.get_by_role("button", name="出题").click()
    quizzes = detail.locator("[data-test=quizzes] tbody tr", has_text="补学测试：夜间安全驾驶")
    expect(quizzes).to_contain_text("补学测试")
    expect(quizzes).to_contain_text("60%")

    detail.get_by_role("tab", name="司机心声").click()
    speaker = meeting["invitees"][0]
    detail.locator(".el-select__wrapper", has=page.get_by_label("发言人", exact=True)).click()
    page.locator(".el-select-dropdown__item:visible").first.click()
    detail.get_by_label("原话").fill("跑车在外也能跟上支部学习，我们心里踏实。")
    detail.get_by_role("button", name="记录").click()
    expect(detail).to_contain_text("须经本人同意方可记录原话")  # the consent box, left unticked
    detail.get_by_text("本人同意记录并用于工作简报").click()
    detail.get_by_role("button", name="记录").click()
    expect(detail.locator("[data-test=quotes] tbody tr", has_text="心里踏实")).to_be_visible()
    page.keyboard.press("Escape")

    kept = api(console, "activities", "GET", f"/v1/meetings/{meeting['meeting_id']}", "zhuanban")
    assert [q["speaker_id"] for q in kept["quotes"] if "心里踏实" in q["text"]] == [speaker]
    (quiz_id,) = [q for q, entry in kept["quizzes"].items() if entry["purpose"] == "make_up"]
    quiz = api(console, "activities", "GET", f"/v1/quizzes/{quiz_id}", "zhuanban")
    assert [q["text"] for q in quiz["questions"]] == ["夜间会车时，距对面来车多远应改用近光灯？"]
    assert quiz["questions"][0]["answer"] == 0


def test_compliance_per_organisation_follows_the_meetings_held(console: dict[str, Any]) -> None:
    branch = console["pilot"].state["branch"]
    page = new_page(console)
    sign_in(page, console["url"], "zuzhibu")
    page.get_by_role("menuitem", name="组织生活达标").click()
    choose(page, "党组织", "县个体货车司机流动党员党支部")
    report = api(console, "activities", "GET", f"/v1/compliance/{branch}", "zuzhibu")
    table = page.locator("[data-test=compliance] tbody tr")
    expect(table).to_have_count(len(report["standings"]))
    lesson = next(s for s in report["standings"] if s["requirement"] == "party_lesson")
    row = page.locator("[data-test=compliance] tbody tr", has_text="党课").first
    expect(row).to_contain_text(f"{lesson['held']}/{lesson['required']}")
    expect(row).to_contain_text("已达到" if lesson["met"] else "未达到")
    console["shots"].take(page, "console-compliance")

    page.get_by_role("button", name="调整要求").click()
    policy = page.locator("[data-test=policy] tbody tr", has_text="党课").first
    policy.locator("input").last.fill("5")
    page.get_by_role("button", name="保存").click()
    expect(row).to_contain_text(f"{lesson['held']}/5")
    assert (
        api(console, "activities", "GET", f"/v1/compliance/{branch}/policy", "zuzhibu")["requirements"][
            "party_lesson"
        ]["count"]
        == 5
    )
