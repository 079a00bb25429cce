"""The console's end-to-end tests, on the seed county of ../conftest.py. The files run in name
order; the briefing's (test_briefing.py) comes first of them, before any of them changes the
seed's figures."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def console(seed_county: dict[str, Any]) -> dict[str, Any]:
    return seed_county
