"""The driver app's end-to-end tests, on the seed county of ../conftest.py, as a phone in
WeChat's browser (driver_support.py)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def driver_app(seed_county: dict[str, Any]) -> dict[str, Any]:
    return seed_county
