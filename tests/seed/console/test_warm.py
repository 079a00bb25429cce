"""暖起来 in the console: a welfare officer takes a need from filed to resolved, keeps the resource
list and a station's facilities; station staff check drivers in and out; a care campaign runs from
its stock to its close."""

from __future__ import annotations

from typing import Any

import pytest
from console_support import api, choose, new_page, sign_in
from pilot import DEMO_STATION_STAFF
from playwright.sync_api import Locator, expect

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


def form_item(scope: Locator, label: str) -> Locator:
    """The form item holding the control labelled `label`: its error shows next to that control."""
    return scope.locator(".el-form-item").filter(has=scope.page.get_by_label(label, exact=True))


def test_an_officer_adds_changes_and_retires_a_resource(console: dict[str, Any]) -> None:
    page = new_page(console)
    sign_in(page, console["url"], "quanyi")
    page.get_by_role("menuitem", name="资源清单").click()
    expect(page.locator("[data-test=resources] tbody tr", has_text="县人民医院")).to_contain_text("就医")
    page.get_by_role("button", name="新增资源").click()
    dialog = page.get_by_role("dialog", name="新增资源")
    dialog.get_by_label("名称", exact=True).fill("医")
    choose(page, "类别", "就医")
    dialog.get_by_role("button", name="保存").click()
    # A one-character name: refused by the service, its message next to the name.
    expect(form_item(dialog, "名称")).to_contain_text("至少 2 个字符")
    dialog.get_by_label("名称", exact=True).fill("县中医医院推拿科")
    dialog.get_by_label("服务范围").fill("美姑县")
    dialog.get_by_label("服务项目").fill("推拿理疗、腰椎劳损诊治")
    dialog.get_by_label("适用条件").fill("长途驾驶引起的腰肩劳损")
    dialog.get_by_label("联系方式").fill("中医医院门诊服务台")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    row = page.locator("[data-test=resources] tbody tr", has_text="县中医医院推拿科")
    expect(row).to_contain_text("推拿理疗、腰椎劳损诊治")
    expect(row).to_contain_text("就医")
    expect(row).to_contain_text("在用")
    console["shots"].take(page, "console-resources")

    row.get_by_role("button", name="修改县中医医院推拿科").click()
    dialog = page.get_by_role("dialog", name="修改资源")
    expect(dialog.get_by_label("服务项目")).to_have_value("推拿理疗、腰椎劳损诊治")
    dialog.get_by_label("联系方式").fill("中医医院康复科办公室")
    dialog.get_by_role("button", name="保存").click()
    expect(row).to_contain_text("中医医院康复科办公室")

    resources = api(console, "welfare", "GET", "/v1/resources", "quanyi")["resources"]
    (added,) = [r for r in resources if r["name"] == "县中医医院推拿科"]
    assert added["category"] == "medical"
    assert added["services"] == ["推拿理疗", "腰椎劳损诊治"]
    assert added["contact"] == "中医医院康复科办公室"

    row.get_by_role("button", name="停用县中医医院推拿科").click()
    page.locator(".el-message-box").get_by_role("button", name="停用").click()
    expect(row).to_have_count(0)
    page.get_by_text("显示已停用").click()
    expect(row).to_contain_text("已停用")
    kept = api(console, "welfare", "GET", f"/v1/resources/{added['resource_id']}", "quanyi")
    assert kept["active"] is False
    # Retired, it is no longer offered to match a need of its category.
    offered = api(console, "welfare", "GET", "/v1/resources?category=medical", "quanyi")["resources"]
    assert added["resource_id"] not in [r["resource_id"] for r in offered]


def station_of(console: dict[str, Any]) -> dict[str, Any]:
    station_id = console["pilot"].state["station"]
    return dict(api(console, "welfare", "GET", f"/v1/stations/{station_id}", "quanyi"))


def set_hours(station: dict[str, Any]) -> dict[str, Any]:
    """A station's hours without the ones not set (an all-day station has no opening time)."""
    return {k: v for k, v in station["hours"].items() if v is not None}


def test_station_staff_check_a_driver_in_and_out_and_the_free_beds_follow(console: dict[str, Any]) -> None:
    driver_id = console["pilot"].state["drivers"][0]
    before = station_of(console)
    beds, free = before["amenities"]["beds"], before["free_beds"]
    page = new_page(console)
    sign_in(page, console["url"], DEMO_STATION_STAFF)
    assert page.url.endswith("/warm/stations")  # the one page of his menu
    expect(page.get_by_role("menuitem", name="关爱活动")).to_have_count(0)
    row = page.locator("[data-test=stations] tbody tr", has_text="峨曲古乡公路养护站暖心之家")
    expect(row).to_contain_text(f"{free}/{beds}")
    row.get_by_role("button", name="管理峨曲古乡公路养护站暖心之家").click()
    drawer = page.get_by_role("dialog", name="峨曲古乡公路养护站暖心之家")
    expect(drawer.locator("[data-test=free-beds]")).to_have_text(str(free))
    # Station staff register stays; the facilities are the rights-protection group's to change.
    expect(drawer.get_by_label("床位数")).to_have_count(0)

    drawer.get_by_label("司机编号").fill("drv_nobody_knows")
    drawer.get_by_role("button", name="登记入住").click()
    expect(form_item(drawer, "司机编号")).to_contain_text("还不认识这名司机")
    drawer.get_by_label("司机编号").fill(driver_id)
    drawer.get_by_role("button", name="登记入住").click()
    expect(drawer.locator("[data-test=free-beds]")).to_have_text(str(free - 1))
    expect(drawer.locator("[data-test=occupied]")).to_have_text(str(before["occupied"] + 1))
    guest = drawer.locator("[data-test=guests] tbody tr", has_text=driver_id)
    expect(guest).to_be_visible()
    expect(row).to_contain_text(f"{free - 1}/{beds}")
    # Checked in already: the second check-in is refused next to the driver's id.
    drawer.get_by_label("司机编号").fill(driver_id)
    drawer.get_by_role("button", name="登记入住").click()
    expect(form_item(drawer, "司机编号")).to_contain_text("已在本驿站登记入住")
    console["shots"].take(page, "console-station")
    assert driver_id in station_of(console)["guests"]

    guest.get_by_role("button", name=f"为{driver_id}办理退房").click()
    expect(drawer.locator("[data-test=free-beds]")).to_have_text(str(free))
    expect(guest).to_have_count(0)
    expect(row).to_contain_text(f"{free}/{beds}")
    after = station_of(console)
    assert driver_id not in after["guests"]
    assert after["occupied"] == before["occupied"]


def test_an_officer_changes_a_stations_beds_facilities_and_hours(console: dict[str, Any]) -> None:
    before = station_of(console)
    page = new_page(console)
    sign_in(page, console["url"], "quanyi")
    page.get_by_role("menuitem", name="暖心之家驿站").click()
    row = page.locator("[data-test=stations] tbody tr", has_text="峨曲古乡公路养护站暖心之家")
    row.get_by_role("button", name="管理峨曲古乡公路养护站暖心之家").click()
    drawer = page.get_by_role("dialog", name="峨曲古乡公路养护站暖心之家")
    drawer.get_by_label("床位数").fill(str(before["amenities"]["beds"] + 2))
    drawer.get_by_label("床位数").press("Tab")
    drawer.locator("label.el-checkbox", has_text="淋浴").click()
    drawer.locator("label.el-checkbox", has_text="全天开放").click()
    choose(page, "开门时间", "07:00")
    # Both lists hold every half hour: let the first close before picking in the second.
    expect(page.locator(".el-select-dropdown__item:visible")).to_have_count(0)
    choose(page, "关门时间", "23:30")
    console["shots"].take(page, "console-station-facilities")
    drawer.get_by_role("button", name="保存设施与开放时间").click()
    expect(drawer.locator("[data-test=free-beds]")).to_have_text(str(before["free_beds"] + 2))
    expect(drawer.locator("[data-test=station-detail]")).to_contain_text("07:00–23:30")
    expect(row).to_contain_text("淋浴")
    after = station_of(console)
    assert after["amenities"]["beds"] == before["amenities"]["beds"] + 2
    assert after["amenities"]["shower"] is True
    assert after["amenities"]["hot_water"] is True  # what was not touched stays
    assert after["hours"]["open_all_day"] is False
    assert (after["hours"]["opens"][:5], after["hours"]["closes"][:5]) == ("07:00", "23:30")
    # The seed county goes on to the driver app's tests: the station is as the pilot left it again.
    restore = {"amenities": before["amenities"], "hours": before["hours"]}
    api(console, "welfare", "PATCH", f"/v1/stations/{before['station_id']}", "quanyi", json=restore)
    again = station_of(console)
    assert again["amenities"] == before["amenities"]
    assert set_hours(again) == set_hours(before)


def test_an_officer_runs_a_campaign_from_stock_to_close(console: dict[str, Any]) -> None:
    first, second = console["pilot"].state["drivers"][:2]
    page = new_page(console)
    sign_in(page, console["url"], "quanyi")
    page.get_by_role("menuitem", name="关爱活动").click()
    # The pilot's three campaigns, by kind in Chinese, closed.
    listed = page.locator("[data-test=campaigns] tbody tr")
    expect(listed.filter(has_text="送健康").first).to_contain_text("已结束")
    page.get_by_role("button", name="开展活动").click()
    dialog = page.get_by_role("dialog", name="开展活动")
    choose(page, "活动类型", "送健康")
    dialog.get_by_label("主办单位").fill("org_work_group")
    dialog.get_by_role("button", name="开展").click()
    expect(form_item(dialog, "活动名称")).to_contain_text("至少 2 个字符")
    dialog.get_by_label("活动名称").fill("夏季送清凉进驿站")
    dialog.get_by_role("button", name="开展").click()
    expect(dialog).to_be_hidden()
    drawer = page.get_by_role("dialog", name="活动详情")
    expect(drawer.locator("[data-test=campaign-status]")).to_have_text("进行中")
    expect(drawer).to_contain_text("送健康 · 夏季送清凉进驿站")
    ledger = drawer.locator("[data-test=ledger]")

    drawer.get_by_label("数量").fill("10")
    drawer.get_by_label("数量").press("Tab")
    drawer.get_by_role("button", name="入库").click()
    expect(ledger.locator("tbody tr", has_text="手套")).to_contain_text("10")
    # An item of its own: a code typed in, and its Chinese name.
    drawer.locator(".el-select__wrapper", has=page.get_by_label("物品", exact=True)).click()
    page.keyboard.type("bottled_water")
    page.keyboard.press("Enter")
    drawer.get_by_label("物品名称").fill("矿泉水")
    drawer.get_by_label("数量").fill("24")
    drawer.get_by_label("数量").press("Tab")
    drawer.get_by_role("button", name="入库").click()
    water = ledger.locator("tbody tr", has_text="矿泉水")
    expect(water).to_contain_text("24")

    drawer.get_by_label("司机编号").fill(first)
    drawer.get_by_label("发放手套").fill("3")
    drawer.get_by_label("发放矿泉水").fill("2")
    drawer.get_by_label("发放矿泉水").press("Tab")
    drawer.get_by_label("走访记录").fill("驿站门口走访，送上手套和矿泉水")
    drawer.get_by_role("button", name="登记走访").click()
    visits = drawer.locator("[data-test=visits] tbody tr")
    expect(visits).to_have_count(1)
    expect(visits.first).to_contain_text("手套 3 件、矿泉水 2 件")
    gloves = ledger.locator("tbody tr", has_text="手套")
    expect(gloves.locator("td")).to_have_text(["手套", "10", "3", "7"])
    expect(water.locator("td")).to_have_text(["矿泉水", "24", "2", "22"])
    expect(ledger.locator(".el-table__footer")).to_contain_text("合计")
    expect(ledger.locator(".el-table__footer td")).to_have_text(["合计", "34", "5", "29"])

    # More gloves than are left: refused next to the gloves, nothing handed out.
    drawer.get_by_label("司机编号").fill(second)
    drawer.get_by_label("发放手套").fill("8")
    drawer.get_by_label("发放手套").press("Tab")
    drawer.get_by_role("button", name="登记走访").click()
    expect(form_item(drawer, "发放手套")).to_contain_text("“手套”库存不足：现有 7 件，要发放 8 件")
    expect(visits).to_have_count(1)
    ledger.scroll_into_view_if_needed()  # the ledger, and the refusal under it
    console["shots"].take(page, "console-campaign")

    drawer.get_by_role("button", name="结束活动").click()
    page.locator(".el-message-box").get_by_role("button", name="结束活动").click()
    expect(drawer.locator("[data-test=campaign-status]")).to_have_text("已结束")
    expect(drawer.get_by_role("button", name="登记走访")).to_have_count(0)
    expect(listed.filter(has_text="夏季送清凉进驿站")).to_contain_text("已结束")

    campaigns = api(console, "welfare", "GET", "/v1/campaigns", "quanyi")["campaigns"]
    (campaign,) = [c for c in campaigns if c["title"] == "夏季送清凉进驿站"]
    assert campaign["kind"] == "health"
    assert campaign["status"] == "closed"
    assert campaign["stock"]["gloves"] == {"received": 10, "issued": 3, "on_hand": 7, "label": "手套"}
    water_line = {"received": 24, "issued": 2, "on_hand": 22, "label": "矿泉水"}
    assert campaign["stock"]["bottled_water"] == water_line
    (visit,) = campaign["visits"]
    assert visit["driver_id"] == first
    assert visit["items"] == {"gloves": 3, "bottled_water": 2}
    assert visit["note"] == "驿站门口走访，送上手套和矿泉水"
    assert campaign["totals"]["items_issued_total"] == 5
