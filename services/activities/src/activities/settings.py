"""Settings of the activities service, from `ROADBRANCH_ACTIVITIES_*` environment variables."""

from roadbranch_shared.settings import settings_for

Settings = settings_for("activities")
