"""Cross-service tests: the test-only apps under tests/apps are importable from here."""

import sys
from pathlib import Path

APPS = Path(__file__).parent / "apps"
sys.path.insert(0, str(APPS))
