"""Waiting, without an event loop, until a condition holds: for scripts (the pilot demo) and the tests'
blocking helpers. The async twin for tests is `roadbranch_shared.testing.eventually`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    check: Callable[[], Any],
    what: str,
    *,
    timeout: float = 60.0,
    interval: float = 0.2,
    error: type[Exception] = AssertionError,
    sleep: Callable[[float], Any] = time.sleep,
) -> Any:
    """Call `check` until it returns something truthy, and return that; after `timeout` seconds raise
    `error` naming `what` and the last value seen. `sleep` waits between calls (a browser test
    passes one that lets the page's own handlers run meanwhile)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        sleep(interval)
    raise error(f"timed out waiting for {what}; last value: {last!r}")
