"""The staff console in real Chromium: the pilot played on the six services, the built console
served by the gateway (Debian's nginx) in front of them, people signing in with the demo accounts
and doing the briefing's staff jobs with keyboard and mouse, checked both on the page and through
the services' APIs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from console_support import Screenshots, gateway, launch, played, sign_in
from pilot import DEMO_SECRETARY, SEED_PLAN, SignIn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from roadbranch_shared.devstack import StackInfo
from roster_support import synthetic_people

pytestmark = pytest.mark.integration

NEW_DRIVERS = synthetic_people("控制台", 2, 1969)


@pytest.fixture(scope="module")
def console(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    run_dir = tmp_path_factory.mktemp("console")
    with played(stack_info, run_dir, SEED_PLAN, notifications=False) as run:
        services = run["services"]
        sign_in_api = SignIn(services.urls["identity"])
        sign_in_api.demo_accounts(branch=run["pilot"].state["branch"])
        with gateway(services, run_dir) as front, sync_playwright() as playwright:
            browser = launch(playwright)
            yield {
                **run,
                "url": front.url,
                "gateway": front,
                "browser": browser,
                "shots": Screenshots(run_dir),
                "sign_in": sign_in_api,
            }
            browser.close()


def new_page(console: dict[str, Any]) -> Page:
    browser: Browser = console["browser"]
    # Another zone than Beijing's, so the pages are seen to show Beijing time whatever the PC says.
    context = browser.new_context(
        locale="zh-CN", timezone_id="Europe/London", viewport={"width": 1440, "height": 900}
    )
    return context.new_page()


def api(console: dict[str, Any], service: str, method: str, path: str, username: str, **kw: Any) -> Any:
    token = console["sign_in"].password(username, "Daolu-meigu-2026")["access_token"]
    answer = httpx.request(
        method,
        console["services"].urls[service] + path,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        **kw,
    )
    assert answer.status_code < 300, answer.text
    return answer.json()


def choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the Element Plus select labelled `label`."""
    page.locator(".el-select__wrapper", has=page.get_by_label(label, exact=True)).click()
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def test_the_briefing_page_shows_the_seed_figures(console: dict[str, Any]) -> None:
    page = new_page(console)
    sign_in(page, console["url"], "zuzhibu")
    page.get_by_role("menuitem", name="工作简报").click()
    figures = page.locator("[data-test=figures]")
    # The seed's figures (the county briefing's), as the pilot left them: this test runs first.
    expect(figures).to_contain_text("摸排司机64")
    expect(figures).to_contain_text("找出党员9")
    expect(figures).to_contain_text("结对帮带5")
    preview = page.frame_locator("[data-test=briefing-preview]")
    expect(preview.locator("h1")).to_have_text("做好货车司机党建宣传工作简报")
    for sentence in ("选优配强行业党委委员7名", "慰问党员司机"):
        expect(preview.locator("body")).to_contain_text(sentence)
    console["shots"].take(page, "console-briefing")
    with page.expect_download() as download:
        page.get_by_role("button", name="下载（Markdown）").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("#")
    assert "做好货车司机党建宣传工作简报" in text


def test_a_clerk_imports_a_list_finds_a_driver_by_phone_and_verifies_a_member(
    console: dict[str, Any], tmp_path: Path
) -> None:
    (first, second) = NEW_DRIVERS
    listing = tmp_path / "司机名单.csv"
    rows = [
        "姓名,身份证号,手机号,车牌号",
        ",".join(first) + ",川W12345",
        ",".join(second) + ",",
        "张三,5134361234,1380013",
    ]
    listing.write_text("\n".join(rows) + "\n", encoding="utf-8")

    clerk = new_page(console)
    sign_in(clerk, console["url"], "zhuanban")
    clerk.get_by_role("menuitem", name="名单导入").click()
    clerk.get_by_label("名单文件（CSV 或 XLSX）").set_input_files(str(listing))
    clerk.get_by_role("button", name="上传并导入").click()
    result = clerk.locator("[data-test=import-result]")
    expect(result).to_contain_text("已完成")
    problems = clerk.locator("[data-test=row-problems]")
    expect(problems).to_contain_text("身份证号")
    expect(problems).to_contain_text("手机号")
    expect(problems.locator("tbody tr").first).to_contain_text("4")
    expect(result).to_contain_text("新登记")
    console["shots"].take(clerk, "console-imports")

    clerk.get_by_role("menuitem", name="查找司机").click()
    clerk.get_by_label("手机号").fill(first[2])
    clerk.get_by_role("button", name="查找").click()
    found = clerk.locator("[data-test=search-results] tbody tr")
    expect(found).to_have_count(1)
    expect(found).to_contain_text(f"{first[2][:3]}****{first[2][-4:]}")
    expect(found).to_contain_text("川W12345")
    assert first[2] not in found.inner_text()
    assert first[1] not in found.inner_text()
    assert first[2] not in clerk.url
    console["shots"].take(clerk, "console-search")

    with clerk.expect_download() as exported:
        clerk.get_by_role("button", name="导出一人一档登记册（XLSX）").click()
    assert exported.value.suggested_filename == "司机登记册.xlsx"
    exported.value.save_as(tmp_path / "register.xlsx")
    register = openpyxl.load_workbook(tmp_path / "register.xlsx", read_only=True).active
    assert register is not None
    cells = [str(c) for row in register.iter_rows(values_only=True) for c in row if c is not None]
    assert f"{first[2][:3]}****{first[2][-4:]}" in cells
    assert first[2] not in cells
    assert first[1] not in cells

    # A malformed phone: the service's reason shows next to the field, in Chinese.
    clerk.get_by_label("手机号").fill("1380013")
    clerk.get_by_role("button", name="查找").click()
    expect(clerk.locator(".el-form-item__error")).to_contain_text("手机号")

    # The organisation department uploads its member records: a case opens for the new driver.
    records = tmp_path / "党员信息.csv"
    records.write_text(
        f"姓名,身份证号,所在党组织,入党时间,党员状态\n{first[0]},{first[1]},原籍村党支部,2010-07-01,正式党员\n",
        encoding="utf-8",
    )
    org = new_page(console)
    sign_in(org, console["url"], "zuzhibu")
    org.get_by_role("menuitem", name="党员身份核实").click()
    org.get_by_label("党员信息文件").set_input_files(str(records))
    org.get_by_role("button", name="上传比对").click()
    expect(org.locator("[data-test=check-summary]")).to_contain_text("新开核实")

    clerk.get_by_role("menuitem", name="党员身份核实").click()
    case = clerk.locator("[data-test=cases] tbody tr", has_text="原籍村党支部")
    expect(case).to_have_count(1)
    case.get_by_role("button", name="办理").click()
    drawer = clerk.get_by_role("dialog", name="核实案件")
    expect(drawer).to_contain_text(f"{first[2][:3]}****{first[2][-4:]}")
    choose(clerk, "核实方式", "电话核实")
    choose(clerk, "结果", "确认是党员")
    drawer.get_by_label("情况说明").fill("本人电话确认，组织关系在原籍村")
    drawer.get_by_role("button", name="记录核实").click()
    expect(drawer).to_contain_text("电话核实：确认是党员")
    console["shots"].take(clerk, "console-verification")
    drawer.get_by_role("button", name="确认党员身份").click()
    expect(drawer.locator("[data-test=case-status]")).to_have_text("已核实")

    cases = api(console, "roster", "GET", "/v1/members?status=verified&limit=1000", "zhuanban")["members"]
    mine = [c for c in cases if c["record"] and c["record"]["branch_of_record"] == "原籍村党支部"]
    assert [c["attempts"][-1]["method"] for c in mine] == ["phone_call"]


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


def test_an_officer_takes_a_need_from_filed_to_resolved(console: dict[str, Any]) -> None:
    driver_id = api(console, "roster", "GET", "/v1/drivers?limit=1", "zhuanban")["drivers"][0]["driver_id"]
    page = new_page(console)
    sign_in(page, console["url"], "quanyi")
    assert page.url.endswith("/warm/needs")
    page.get_by_role("button", name="代司机登记诉求").click()
    dialog = page.get_by_role("dialog", name="代司机登记诉求")
    choose(page, "类别", "就医")
    dialog.get_by_label("诉求内容").fill("在G348线K12处突发腹痛，需就近就医")
    dialog.get_by_role("button", name="登记").click()
    # Staff file for a driver: without his id the service refuses, and says so next to the field.
    expect(dialog.locator(".el-form-item__error")).to_contain_text("driver_id")
    dialog.get_by_label("司机编号").fill(driver_id)
    dialog.get_by_role("button", name="登记").click()
    row = page.locator("[data-test=needs] tbody tr", has_text="突发腹痛")
    expect(row).to_contain_text("已受理")
    row.click()
    drawer = page.get_by_role("dialog", name="诉求办理")
    expect(drawer.locator("[data-test=need-status]")).to_have_text("已受理")
    drawer.get_by_text("县人民医院").click()
    drawer.get_by_role("button", name="匹配所选资源").click()
    expect(drawer.locator("[data-test=need-status]")).to_have_text("已匹配资源")
    drawer.get_by_role("button", name="交办").click()
    expect(drawer.locator("[data-test=need-status]")).to_have_text("办理中")
    drawer.get_by_label("办理结果").fill("联系县人民医院开通绿色通道，已就诊")
    console["shots"].take(page, "console-need")
    drawer.get_by_role("button", name="办结").click()
    expect(drawer.locator("[data-test=need-status]")).to_have_text("已办结")
    expect(drawer).to_contain_text("按时")

    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    page.get_by_role("menuitem", name="暖心之家驿站").click()
    station = page.locator("[data-test=stations] tbody tr", has_text="峨曲古乡公路养护站暖心之家")
    expect(station).to_contain_text("热水")
    console["shots"].take(page, "console-stations")

    needs = api(console, "welfare", "GET", "/v1/needs?status=resolved&limit=500", "quanyi")["needs"]
    (need,) = [n for n in needs if "突发腹痛" in n["description"]]
    assert need["resource_ids"] == ["res_county_hospital"]
    assert [h["action"] for h in need["history"]][:4] == ["filed", "matched", "assigned", "resolved"]


def test_menus_follow_the_role_and_a_signed_out_page_asks_to_sign_in(console: dict[str, Any]) -> None:
    page = new_page(console)
    page.goto(console["url"] + "/find/imports")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("用户名").fill("quanyi")
    page.get_by_label("密码").fill("wrong-password-1")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("密码").fill("Daolu-meigu-2026")
    page.get_by_role("button", name="登录").click()
    # The officer may not import lists: he lands on his own first page instead.
    expect(page).to_have_url(re.compile(r"/warm/needs$"))
    menu = page.get_by_role("navigation", name="主菜单")
    expect(menu).to_contain_text("诉求受理")
    expect(menu).not_to_contain_text("名单导入")
    expect(menu).not_to_contain_text("账号与角色")
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(console["url"] + "/warm/needs")
    expect(page).to_have_url(re.compile(r"/login"))

    admin = new_page(console)
    sign_in(admin, console["url"], "admin", "Guanli-meigu-2026")
    expect(admin.locator("[data-test=accounts]")).to_contain_text("zhuanban")
    console["shots"].take(admin, "console-accounts")


def test_the_gateway_serves_the_console_and_keeps_personal_data_out_of_its_log(
    console: dict[str, Any],
) -> None:
    index = httpx.get(console["url"] + "/gather/meetings", timeout=30)
    assert index.status_code == 200
    assert "货车司机党建工作平台" in index.text
    log = console["gateway"].access_log.read_text(encoding="utf-8")
    assert "/api/roster/v1/driver-searches" in log
    for _, id_number, phone in NEW_DRIVERS:
        assert phone not in log
        assert id_number not in log
    assert (
        json.loads(httpx.get(console["url"] + "/api/nope/v1/x", timeout=30).text)["error"]["code"]
        == "not_found"
    )
