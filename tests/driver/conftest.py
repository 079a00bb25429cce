"""The driver app's end-to-end tests share one stack: the seed pilot played on the six services, the
gateway in front serving the console and the driver app (/driver/), and one Chromium set up as a
phone, started once for this folder and stopped after its last test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import CONSOLE_DIST, ROOT, SEED_PLAN, Screenshots, SignIn, launch, played
from playwright.sync_api import sync_playwright
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.gateway import Gateway

# The built app the gateway serves under /driver/ (`cd web && npm run build`).
DRIVER_DIST = Path(os.environ.get("ROADBRANCH_DRIVER_DIST", ROOT / "web" / "driver" / "dist"))


@pytest.fixture(scope="package")
def driver_app(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    for built in (CONSOLE_DIST, DRIVER_DIST):
        if not (built / "index.html").is_file():
            raise RuntimeError(f"{built} is not built: run `cd web && npm run build`")
    if not (DRIVER_DIST / "sw.js").is_file():
        raise RuntimeError(f"{DRIVER_DIST}/sw.js is missing: the build writes it (web/driver/vite.config.ts)")
    run_dir = tmp_path_factory.mktemp("driver")
    # Playwright sees (and routes) a service worker's own requests only with this set, before it starts.
    os.environ["PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"] = "1"
    # The pilot plays its months of pushes today, past the daily cap of 5 messages a driver (the
    # rest wait for the next morning's digest): here a driver may get more, so a push reaches him.
    cap = {"ROADBRANCH_NOTIFY_DAILY_CAP": "100"}
    with played(stack_info, run_dir, SEED_PLAN, notifications=False, extra_env=cap) as run:
        services = run["services"]
        sign_in = SignIn(services.urls["identity"])
        state = run["pilot"].state
        sign_in.demo_accounts(branch=state["branch"], station=state.get("station"))
        front = Gateway(services.urls, CONSOLE_DIST, run_dir / "gateway", driver_dist=DRIVER_DIST).start()
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                yield {
                    **run,
                    "url": front.url,
                    "gateway": front,
                    "browser": browser,
                    "shots": Screenshots(run_dir),
                    "sign_in": sign_in,
                    "run_dir": run_dir,
                }
                browser.close()
        finally:
            front.stop()
