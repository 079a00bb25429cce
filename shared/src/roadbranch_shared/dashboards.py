"""Grafana dashboards' PromQL queries and the metric names they select (checked against real /metrics)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def dashboard_queries(node: Any) -> Iterator[str]:
    """Every `expr` string anywhere in a dashboard (panels, rows' nested panels...)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from dashboard_queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_queries(item)


def dashboard_metric_names(folder: Path) -> set[str]:
    """The metric names selected by the queries of every dashboard JSON file in `folder`."""
    names: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        for expr in dashboard_queries(json.loads(path.read_text(encoding="utf-8"))):
            names |= metric_names(expr)
    return names


_PROMQL_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and keywords dropped)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    s = re.sub(r"\{[^}]*\}", " ", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)  # ranges and subqueries
    s = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for match in re.finditer(r"(?<![\w.:$])[A-Za-z_:][\w:]*", s):
        word = match.group(0)
        if re.match(r"\s*\(", s[match.end() :]):  # a function or an aggregation
            continue
        if word.lower() in _PROMQL_KEYWORDS:
            continue
        names.add(word)
    return names
