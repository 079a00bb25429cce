"""Settings of the roster service, from `ROADBRANCH_ROSTER_*` environment variables.

The PII keys are read from `ROADBRANCH_PII_BLIND_INDEX_KEY` and `ROADBRANCH_PII_ENCRYPTION_KEY`.
"""

from pydantic import Field
from roadbranch_shared.settings import ServiceSettings, settings_for


class Settings(settings_for("roster")):  # type: ignore[misc]
    import_batch_size: int = Field(default=500, ge=1, le=5000, description="rows written per batch")
    import_heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="how often a running import says it is alive; one silent for three of these is "
        "taken over and resumed by any replica",
    )
    default_county: str = "meigu"
    clock_control: bool = Field(
        default=False,
        description="let on-demand scans run as of another time (`as_of`; tests and demos only)",
    )
    lost_contact_after_days: int = Field(default=183, ge=1, description="no contact this long raises a case")
    pairing_overdue_after_days: int = Field(
        default=30, ge=1, description="N+1 pair with no contact this long"
    )
    figures_interval_seconds: float = Field(
        default=30, gt=0, description="how often the gauges are recounted"
    )
    scan_interval_seconds: float = Field(default=3600, gt=0, description="how often the overdue scans run")


__all__ = ["ServiceSettings", "Settings"]
