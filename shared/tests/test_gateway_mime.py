"""The gateway's MIME table: the system's when there is one, with what a Vite build serves added."""

from __future__ import annotations

import re
from pathlib import Path

from roadbranch_shared.devstack.gateway import MIME_TYPES, mime_table


def types_of(table: str) -> dict[str, str]:
    """extension -> type, as nginx would read the `types {}` block."""
    found: dict[str, str] = {}
    for kind, exts in re.findall(r"^\s*(\S+/\S+)\s+([^;]+);", table, flags=re.MULTILINE):
        for ext in exts.split():
            found.setdefault(ext, kind)
    return found


def test_the_systems_table_is_kept_and_only_what_it_lacks_is_added(tmp_path: Path) -> None:
    system = tmp_path / "mime.types"
    system.write_text(
        "types {\n    text/html html htm;\n    application/javascript js;\n    video/mp4 mp4;\n}\n",
        encoding="utf-8",
    )
    table = types_of(mime_table(system))
    assert table["mp4"] == "video/mp4"  # the system's own entry stays
    assert table["js"] == "application/javascript"
    assert table["mjs"] == "application/javascript"  # added: the old table lacks it
    assert table["webmanifest"] == "application/manifest+json"
    assert list(table).count("html") == 1


def test_without_a_system_table_the_vite_types_are_all_there(tmp_path: Path) -> None:
    table = types_of(mime_table(tmp_path / "absent"))
    for kind, exts in MIME_TYPES.items():
        for ext in exts.split():
            assert table[ext] == kind
