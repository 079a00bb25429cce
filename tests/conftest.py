"""Cross-service tests: the test-only apps under tests/apps, and the demo's pilot (demo/pilot.py),
are importable from here."""

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "apps"))
sys.path.insert(0, str(HERE.parent / "demo"))
