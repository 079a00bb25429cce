"""The driver app's end-to-end helpers: a phone in WeChat's browser, signing in by SMS code, no
signal, polling with the page's route handlers running, and screenshots."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, Route, expect
from roadbranch_shared.polling import wait_until

PHONE_VIEW = {"width": 390, "height": 844}
# WeChat's in-app browser on Android (XWeb), as the page sees it.
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/4G Language/zh_CN"
)


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 60, page: Page | None = None) -> Any:
    """Poll until `probe` answers; with a page, its route handlers run meanwhile (Playwright's sync
    API runs them only while it is called)."""
    pause = (lambda seconds: page.wait_for_timeout(seconds * 1000)) if page is not None else time.sleep
    return wait_until(probe, what, timeout=timeout, interval=0.3, sleep=pause)


def staff_needs(app: dict[str, Any], text: str) -> list[dict[str, Any]]:
    needs = app["pilot"].api["welfare"].call("GET", "/v1/needs?limit=500", "officer")["needs"]
    return [n for n in needs if n["description"] == text]


def publish_to_the_branch(app: dict[str, Any], title: str, body: str) -> dict[str, Any]:
    """A road-safety item published by staff to the pilot's branch (pushed to its members)."""
    branch = app["pilot"].state["branch"]
    item = {"organisation_id": branch, "category": "road_safety", "title": title, "body": body}
    return dict(app["pilot"].api["activities"].call("POST", "/v1/contents", "staff", json=item))


def phone_context(app: dict[str, Any]) -> BrowserContext:
    return app["browser"].new_context(  # type: ignore[no-any-return]
        viewport=PHONE_VIEW,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        user_agent=WECHAT_UA,
        service_workers="allow",
    )


def go_offline(context: BrowserContext) -> Callable[[Route], None]:
    """No signal: the page's requests and the service worker's own fail as without a network."""

    def cut(route: Route) -> None:
        route.abort("internetdisconnected")

    context.set_offline(True)
    context.route("**/*", cut)
    return cut


def sign_in(page: Page, app: dict[str, Any], phone: str) -> str:
    base = app["url"]
    page.goto(f"{base}/driver/")
    expect(page).to_have_url(re.compile(r"/driver/login"))
    page.get_by_label("手机号").fill(phone)
    before = len(app["services"].sms.codes_to(phone))
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_role("button", name=re.compile(r"\d+ 秒后重新获取"))).to_be_disabled()
    codes = wait_for("the SMS code", lambda: app["services"].sms.codes_to(phone)[before:])
    page.get_by_label("验证码").fill(codes[-1])
    shoot(app, page, "driver-login")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".van-nav-bar__title")).to_have_text("消息")
    driver_id = page.evaluate("JSON.parse(localStorage.getItem('roadbranch.session')).driver_id")
    assert isinstance(driver_id, str)
    assert driver_id
    return driver_id


def shoot(app: dict[str, Any], page: Page, name: str) -> None:
    expect(page.locator(".van-loading:visible")).to_have_count(0)
    expect(page.locator(".van-toast:visible")).to_have_count(0)
    path = app["shots"].folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False, animations="disabled")
