"""Settings of the roster service, from `ROADBRANCH_ROSTER_*` environment variables."""

from roadbranch_shared.settings import settings_for

Settings = settings_for("roster")
