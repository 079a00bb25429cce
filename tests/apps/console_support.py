"""The console end to end: the pilot played on the six services, the gateway (Debian's nginx)
serving the built console in front of them, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from pilot import (
    DEMO_PASSWORD,
    SEED_PLAN,
    Pilot,
    PilotPlan,
    PilotServices,
    SignIn,
    settle,
    settle_notifications,
)
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.gateway import Gateway
from roadbranch_shared.testing import reading_from_now

ROOT = Path(__file__).resolve().parents[2]

# The built console the gateway serves; another build (e.g. one made aside while the tree changes)
# can be tested with ROADBRANCH_CONSOLE_DIST.
CONSOLE_DIST = Path(os.environ.get("ROADBRANCH_CONSOLE_DIST", ROOT / "web" / "console" / "dist"))
CHROMIUM = os.environ.get("ROADBRANCH_CHROMIUM", "/usr/bin/chromium")
# As the machine's probe starts it: no sandbox (root), no GPU, and nothing reaching out to the
# closed network (background networking, component updates, sync).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots go to the test's run folder; `make screenshots` points this at docs/screenshots.
SCREENSHOTS = os.environ.get("ROADBRANCH_SCREENSHOTS_DIR", "")


@contextmanager
def played(
    stack_info: StackInfo,
    run_dir: Path,
    plan: PilotPlan,
    *,
    notifications: bool = True,
    extra_env: dict[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The six services in a county of their own, the pilot played and settled; stopped after."""
    county = f"county-{secrets.token_hex(3)}"
    services = PilotServices(
        stack_info, run_dir, suffix=f"_{county[-6:]}", county=county, extra_env=extra_env
    )
    # From now on: a package's stack is set up before its first module's own mark is taken.
    with reading_from_now(stack_info):
        services.start(lambda _: None)
    try:
        pilot = Pilot(plan, services.urls, services.tokens_file, progress=lambda _: None)
        pilot.play()
        figures = settle(pilot, progress=lambda _: None)
        if notifications:
            figures["notify"] = settle_notifications(pilot, progress=lambda _: None)  # then the text
        staff = {"Authorization": f"Bearer {pilot.tokens.by_name['staff']}"}
        text = pilot.api["briefing"].http.get("/v1/briefing", headers=staff).text
        yield {"pilot": pilot, "services": services, "county": county, "figures": figures, "text": text}
    finally:
        services.stop()


@contextmanager
def gateway(
    services: PilotServices, run_dir: Path, driver_dist: Path | None = None, port: int | None = None
) -> Iterator[Gateway]:
    if not (CONSOLE_DIST / "index.html").is_file():
        raise RuntimeError(f"the console is not built: run `make web` ({CONSOLE_DIST} is missing)")
    running = Gateway(
        services.urls, CONSOLE_DIST, run_dir / "gateway", driver_dist=driver_dist, port=port
    ).start()
    try:
        yield running
    finally:
        running.stop()


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Screenshots:
    def __init__(self, run_dir: Path) -> None:
        self.folder = Path(SCREENSHOTS) if SCREENSHOTS else run_dir / "screenshots"
        self.folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str) -> Path:
        """The page as its user sees it once loading is done (no spinner left)."""
        expect(page.locator(".el-loading-mask:visible")).to_have_count(0)
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=False, animations="disabled")
        return path


def sign_in(page: Page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in with the keyboard only: type, Tab, type, Enter."""
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


@contextmanager
def console_stack(
    stack_info: StackInfo,
    run_dir: Path,
    *,
    notifications: bool = False,
    extra_env: dict[str, str] | None = None,
    driver_dist: Path | None = None,
    gateway_port: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The seed pilot played (its notifications settled only when asked: the pages do not need
    them), the demo sign-ins made, the gateway in front (with the driver app under /driver/ when
    `driver_dist` is given; on `gateway_port` if given) and one Chromium; all stopped after."""
    # The roster's scans may be run "as of" a later day, so a test can find members out of contact.
    env = {"ROADBRANCH_ROSTER_CLOCK_CONTROL": "true", **(extra_env or {})}
    with played(stack_info, run_dir, SEED_PLAN, notifications=notifications, extra_env=env) as run:
        services = run["services"]
        sign_in_api = SignIn(services.urls["identity"])
        state = run["pilot"].state
        sign_in_api.demo_accounts(branch=state["branch"], station=state.get("station"))
        with gateway(services, run_dir, driver_dist, gateway_port) as front, sync_playwright() as playwright:
            browser = launch(playwright)
            yield {
                **run,
                "url": front.url,
                "gateway": front,
                "browser": browser,
                "shots": Screenshots(run_dir),
                "sign_in": sign_in_api,
                "run_dir": run_dir,
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
    """Call a service directly (not through the page) as a demo account, to check what a page did."""
    token = console["sign_in"].password(username, DEMO_PASSWORD)["access_token"]
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
