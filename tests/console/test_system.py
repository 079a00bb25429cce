"""Menus by role, sign-in and sign-out, and the administrator's accounts page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_support import new_page, sign_in
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
