"""Settings of the welfare service, from `ROADBRANCH_WELFARE_*` environment variables."""

from roadbranch_shared.settings import settings_for

Settings = settings_for("welfare")
