"""Small helpers for the benchmark figures: percentiles in plain Python, rates, progress lines."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def latency_summary(values_ms: Sequence[float]) -> dict[str, float | int]:
    if not values_ms:
        return {"count": 0}
    return {
        "count": len(values_ms),
        "p50": round(percentile(values_ms, 50), 2),
        "p95": round(percentile(values_ms, 95), 2),
        "p99": round(percentile(values_ms, 99), 2),
        "max": round(max(values_ms), 2),
    }


def rate(count: int, seconds: float) -> float | None:
    """Per second, or None (JSON null) when nothing was timed."""
    return round(count / seconds, 1) if seconds > 0 else None


def progress(message: str) -> None:
    """Progress goes to stderr so stdout stays one JSON document."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
