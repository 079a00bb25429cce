"""暖起来 in the console: a welfare officer takes a need from filed to resolved and sees the stations."""

from __future__ import annotations

from typing import Any

import pytest
from console_support import api, choose, new_page, sign_in
from playwright.sync_api import expect

pytestmark = pytest.mark.integration


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
