"""Settings of the notify service, from `ROADBRANCH_NOTIFY_*` environment variables."""

from roadbranch_shared.settings import settings_for

Settings = settings_for("notify")
