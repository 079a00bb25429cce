"""Settings of the activities service, from `ROADBRANCH_ACTIVITIES_*` environment variables."""

from pydantic import Field
from roadbranch_shared.settings import ServiceSettings, settings_for


class Settings(settings_for("activities")):  # type: ignore[misc]
    consumer_group: str = Field(
        default="activities", description="Kafka consumer group of the roster subscriptions"
    )
    makeup_window_days: int = Field(default=30, ge=1, description="days after a meeting to make it up (补学)")
    check_in_code_minutes: int = Field(default=30, ge=1, description="how long a check-in code is valid")
    compliance_warn_days: int = Field(
        default=7, ge=0, description="a period this close to its end without its meetings raises an alert"
    )
    compliance_scan_interval_seconds: float = Field(default=3600, gt=0, description="how often the scan runs")
    figures_interval_seconds: float = Field(
        default=30, gt=0, description="how often the gauges are recounted"
    )
    clock_control: bool = Field(
        default=False, description="let an operator set the service's clock (tests and demos only)"
    )


__all__ = ["ServiceSettings", "Settings"]
