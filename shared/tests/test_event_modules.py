"""The event package's modules depend one way: the envelope on the registry, never back."""

import ast
from pathlib import Path

import pytest
import roadbranch_shared

SHARED = Path(roadbranch_shared.__file__).parent


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, whether the import sits at the top level) of each `from … import`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    return [
        (node.module or "", id(node) in top)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("roadbranch_shared")
    ]


def test_the_registry_does_not_import_the_envelope() -> None:
    imported = [module for module, _ in _imports(SHARED / "events" / "registry.py")]
    assert not [m for m in imported if m.startswith("roadbranch_shared.events")], imported


@pytest.mark.parametrize("module", ["events/envelope.py", "events/registry.py", "outbox.py"])
def test_event_modules_import_at_the_top(module: str) -> None:
    nested = [name for name, at_top in _imports(SHARED / module) if not at_top]
    assert not nested, f"{module} imports inside a function: {nested}"
