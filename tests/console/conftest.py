"""The console's end-to-end tests share one stack: the seed pilot played on the six services, the
gateway in front and one Chromium, started once for this folder and stopped after its last test.
The files run in name order; the briefing's (test_briefing.py) comes first, before any other test
changes the seed's figures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from console_support import console_stack
from roadbranch_shared.devstack import StackInfo


@pytest.fixture(scope="package")
def console(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with console_stack(stack_info, tmp_path_factory.mktemp("console")) as running:
        yield running
