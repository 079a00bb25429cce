"""找出来 in the console: a clerk imports a list and sees its row problems, finds a driver by phone,
exports the register; the organisation department cross-checks and the clerk verifies a member;
the gateway's log keeps their numbers out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from console_support import api, choose, new_page, sign_in
from playwright.sync_api import expect
from roster_support import synthetic_people

pytestmark = pytest.mark.integration


NEW_DRIVERS = synthetic_people("控制台", 2, 1969)


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


def test_a_clerk_brings_a_new_members_relation_home_and_closes_a_lost_contact_case(
    console: dict[str, Any],
) -> None:
    branch = console["pilot"].state["branch"]
    cases = api(console, "roster", "GET", "/v1/members?status=verified&limit=1000", "zhuanban")["members"]
    (new,) = [c for c in cases if not c.get("branch_id")]  # the member the clerk verified above
    page = new_page(console)
    sign_in(page, console["url"], "zhuanban")
    page.get_by_role("menuitem", name="党员档案").click()
    row = page.locator("[data-test=ledger] tbody tr", has_text="尚未编入")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(new["driver"]["name"])  # masked, as the roster answers
    row.get_by_role("button", name="档案").click()
    file = page.locator("[data-test=member-file]")
    file.get_by_role("button", name="登记转接").click()
    expect(file.locator(".el-form-item__error").first).to_be_visible()  # no letter number
    file.get_by_label("介绍信编号").fill("介2026-118")
    file.get_by_label("转出党组织").fill("原籍村党支部")
    file.get_by_role("button", name="登记转接").click()
    expect(file.locator("[data-test=transfers]")).to_contain_text("待接收")
    page.keyboard.press("Escape")

    page.get_by_text("组织关系转接中", exact=True).click()
    pending = page.locator("[data-test=ledger] tbody tr")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("转接中")
    pending.get_by_role("button", name="档案").click()
    choose(page, "接收支部", "县个体货车司机流动党员党支部")
    file.get_by_role("button", name="接收", exact=True).click()
    expect(file.locator("[data-test=transfers]")).to_contain_text("已接收")
    expect(file).to_contain_text("县个体货车司机流动党员党支部")
    console["shots"].take(page, "console-member-file")
    page.keyboard.press("Escape")
    assert api(console, "roster", "GET", f"/v1/members/{new['member_id']}", "zhuanban")["branch_id"] == branch

    # A year and a half on, nobody has been in touch: the scan finds every member out of contact.
    scan = api(
        console,
        "roster",
        "POST",
        "/v1/ops/scans/lost-contact",
        "zhuanban",
        params={"as_of": "2028-06-01T09:00:00+08:00"},
    )
    assert new["member_id"] in scan["raised"]
    page.get_by_text("失联党员", exact=True).click()
    lost = page.locator("[data-test=ledger] tbody tr")
    expect(lost).to_have_count(len(scan["raised"]))
    lost.filter(has_text=new["driver"]["name"]).get_by_role("button", name="档案").click()
    expect(file).to_contain_text("起失联，尚未办结")
    file.get_by_role("button", name="办结").click()
    expect(file.locator(".el-form-item__error").first).to_be_visible()  # no note
    file.get_by_label("处理情况").fill("已电话联系上，本人在新疆跑车，下月回乡")
    file.get_by_role("button", name="办结").click()
    expect(file.locator("[data-test=lost-contact]")).to_contain_text("下月回乡")
    ledger = api(console, "roster", "GET", f"/v1/members/{new['member_id']}/ledger", "zhuanban")
    assert ledger["lost_contact"]["status"] == "resolved"
    assert ledger["lost_contact"]["note"] == "已电话联系上，本人在新疆跑车，下月回乡"
