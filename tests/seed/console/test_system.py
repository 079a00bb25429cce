"""Menus by role, sign-in and sign-out, the administrator's accounts page, the organisation
department's audit of unmasked reads, searches and exports, and the staff directory."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_support import api, choose, new_page, sign_in
from playwright.sync_api import expect

pytestmark = pytest.mark.integration


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


def test_the_audit_of_unmasked_reads_shows_the_clerks_searches_and_exports(console: dict[str, Any]) -> None:
    page = new_page(console)
    sign_in(page, console["url"], "zuzhibu")
    page.get_by_role("menuitem", name="敏感信息查阅审计").click()
    table = page.locator("[data-test=roster-audit] tbody tr")
    expect(table.first).to_be_visible()
    # The clerk's searches (test_find.py) are there by key and count, never by the value searched.
    expect(table.filter(has_text="按手机号查找，找到 1 人").first).to_be_visible()
    console["shots"].take(page, "console-roster-audit")
    choose(page, "事项", "导出花名册")
    page.get_by_role("button", name="查询").click()
    exports = api(console, "roster", "GET", "/v1/audit?action=export_register", "zuzhibu")["records"]
    assert exports, "the clerk exported the register in test_find.py"
    expect(table).to_have_count(len(exports))
    for i in range(len(exports)):
        expect(table.nth(i)).to_contain_text("导出花名册")


def test_a_clerk_keeps_a_staff_members_contact_points_in_the_directory(console: dict[str, Any]) -> None:
    page = new_page(console)
    sign_in(page, console["url"], "zhuanban")
    page.get_by_role("menuitem", name="工作人员通讯录").click()
    page.get_by_role("button", name="登记联系方式").click()
    dialog = page.get_by_role("dialog", name="登记联系方式")
    dialog.get_by_label("账号").fill("staff-branch-new")
    dialog.get_by_label("手机号").fill("1390000123")  # ten digits
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_contain_text("手机号格式不正确")
    dialog.get_by_label("手机号").fill("13900001234")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    row = page.locator("[data-test=staff] tbody tr", has_text="staff-branch-new")
    expect(row).to_contain_text("139****1234")
    expect(row).not_to_contain_text("13900001234")
    staff = api(console, "notify", "GET", "/v1/staff?limit=500", "zhuanban")["staff"]
    (entry,) = [s for s in staff if s["subject"] == "staff-branch-new"]
    assert entry["preferred_channel"] == "sms"
    assert entry["addresses"]["sms"] == "139****1234"
    # Whether a notice can reach him is notify's answer (this stack has no SMS provider set up).
    expect(row.locator(".el-tag")).to_have_text("能" if entry["reachable"] else "不能")
    console["shots"].take(page, "console-staff")


def test_the_delivery_ledger_says_in_words_what_became_of_each_message(console: dict[str, Any]) -> None:
    """The pilot's welcomes reached the members' in-app inboxes; the ledger page shows them with
    the channel and status in words (the reasons' words: `web/console/src/deliveries.test.ts`)."""
    page = new_page(console)
    sign_in(page, console["url"], "zuzhibu")
    page.goto(console["url"] + "/notify/deliveries")
    choose(page, "消息类型", "欢迎回家")
    page.get_by_role("button", name="查询").click()
    table = page.locator("[data-test=deliveries]")
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(table).to_contain_text("站内消息")
    expect(table).to_contain_text("已发送")
    expect(table).not_to_contain_text("inbox")
    console["shots"].take(page, "console-deliveries")
