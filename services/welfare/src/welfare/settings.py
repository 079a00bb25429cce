"""Settings of the welfare service, from `ROADBRANCH_WELFARE_*` environment variables."""

from pydantic import Field, field_validator
from roadbranch_shared.settings import ServiceSettings, settings_for

from welfare.domain.needs import DEFAULT_TARGET_HOURS, check_targets


class Settings(settings_for("welfare")):  # type: ignore[misc]
    county: str = "meigu"
    consumer_group: str = Field(default="welfare", description="Kafka consumer group of the roster views")
    response_target_hours: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_TARGET_HOURS),
        description='hours to resolve a need, by urgency or "category:urgency" (JSON)',
    )
    escalation_leader_id: str | None = Field(
        default=None, description="subject of the rights-protection group's leader, named on escalations"
    )
    escalation_scan_seconds: float = Field(default=60, gt=0, description="how often overdue needs are sought")
    figures_interval_seconds: float = Field(
        default=30, gt=0, description="how often the gauges are recounted"
    )
    seed_resources: bool = Field(default=True, description="load the seed resource list into an empty one")
    clock_control: bool = Field(
        default=False, description="let operators move the service's clock (tests and demos only)"
    )
    local_timezone: str = Field(default="Asia/Shanghai", description="time zone of stations' opening hours")

    @field_validator("response_target_hours")
    @classmethod
    def _targets_complete(cls, value: dict[str, float]) -> dict[str, float]:
        check_targets(value)
        return value


__all__ = ["ServiceSettings", "Settings"]
