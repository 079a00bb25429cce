"""The seed county, played once for every test here: the pilot with the county briefing's numbers
on the six services, its notifications settled, the demo's sign-ins made, the gateway in front
serving the console and the driver app (/driver/), and one Chromium. Started before the first test
of this folder and stopped after its last.

The tests here run in this order: the seed's figures (test_figures.py) first, then the console's
files in name order (its briefing page, test_briefing.py, first), then the driver app's. Only the
first ones see the figures exactly as the seed left them; every later test changes them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import ROOT, console_stack
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.process import free_port

HERE = Path(__file__).parent
FIRST = HERE / "test_figures.py"
# The built app the gateway serves under /driver/ (`cd web && npm run build`).
DRIVER_DIST = Path(os.environ.get("ROADBRANCH_DRIVER_DIST", ROOT / "web" / "driver" / "dist"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """test_figures.py's tests before this folder's others (pytest would take the sub-folders first,
    by name); nothing outside this folder moves."""
    places = [i for i, item in enumerate(items) if item.path.is_relative_to(HERE)]
    ordered = sorted((items[i] for i in places), key=lambda item: item.path != FIRST)  # stable
    for place, item in zip(places, ordered, strict=True):
        items[place] = item


@pytest.fixture(scope="package")
def seed_county(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not (DRIVER_DIST / "sw.js").is_file():
        raise RuntimeError(f"{DRIVER_DIST} is not built with its service worker: run `make web`")
    # Playwright sees (and routes) a service worker's own requests only with this set, before it starts.
    os.environ["PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"] = "1"
    # The pilot plays its months of pushes today, past the daily cap of 5 messages a driver (the
    # rest wait for the next morning's digest): here a driver may get more, so a push reaches him.
    # The gateway's port is chosen first, so notify's learning pushes link into the driver app there.
    port = free_port()
    env = {
        "ROADBRANCH_NOTIFY_DAILY_CAP": "100",
        "ROADBRANCH_NOTIFY_DRIVER_APP_URL": f"http://127.0.0.1:{port}/driver",
    }
    run_dir = tmp_path_factory.mktemp("seed")
    with console_stack(
        stack_info, run_dir, notifications=True, extra_env=env, driver_dist=DRIVER_DIST, gateway_port=port
    ) as running:
        yield running
