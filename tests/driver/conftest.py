"""The driver app's end-to-end tests share one stack: the seed pilot played on the six services, the
gateway in front serving the console and the driver app (/driver/), and one Chromium set up as a
phone, started once for this folder and stopped after its last test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import ROOT, console_stack
from roadbranch_shared.devstack import StackInfo

# The built app the gateway serves under /driver/ (`cd web && npm run build`).
DRIVER_DIST = Path(os.environ.get("ROADBRANCH_DRIVER_DIST", ROOT / "web" / "driver" / "dist"))


@pytest.fixture(scope="package")
def driver_app(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not (DRIVER_DIST / "sw.js").is_file():
        raise RuntimeError(f"{DRIVER_DIST} is not built with its service worker: run `make web`")
    # Playwright sees (and routes) a service worker's own requests only with this set, before it starts.
    os.environ["PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"] = "1"
    # The pilot plays its months of pushes today, past the daily cap of 5 messages a driver (the
    # rest wait for the next morning's digest): here a driver may get more, so a push reaches him.
    cap = {"ROADBRANCH_NOTIFY_DAILY_CAP": "100"}
    run_dir = tmp_path_factory.mktemp("driver")
    with console_stack(stack_info, run_dir, extra_env=cap, driver_dist=DRIVER_DIST) as running:
        yield running
