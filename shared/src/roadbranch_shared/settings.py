"""Service settings from the environment, one prefix per service (e.g. ROADBRANCH_ROSTER_MONGO_URI)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Common settings; each service subclasses it with its own `env_prefix`."""

    model_config = SettingsConfigDict(env_prefix="ROADBRANCH_", extra="ignore")

    kafka_bootstrap: str = "localhost:9092"
    kafka_heartbeat_seconds: float = Field(
        default=3.0,
        gt=0,
        le=10,
        description="how often a consumer tells its group it is alive: how soon a replica that joined "
        "gets its share of the partitions",
    )
    mongo_uri: str = "mongodb://localhost:27017/"
    mongo_db: str | None = Field(default=None, description="database name; defaults to the service name")
    tokens: SecretStr | None = Field(default=None, description="JSON token table: token -> principal")
    tokens_file: Path | None = Field(default=None, description="file holding the JSON token table")
    log_level: str = "INFO"
    relay_idle_interval: float = Field(
        default=1.0, gt=0, description="seconds between outbox polls; local writes wake the relay at once"
    )
    relay_lease_seconds: float = Field(
        default=30,
        ge=1,
        description="how long a relay holds an aggregate's outbox; a killed replica's is taken over after it",
    )
    dlq_max_attempts: int = Field(default=3, ge=1)
    dlq_base_delay: float = Field(default=0.2, ge=0)
    idempotency_days: float = Field(
        default=14,
        ge=7,
        description="how long an Idempotency-Key's answer is kept (a driver may be offline for days)",
    )
    idempotency_lease_seconds: float = Field(
        default=30,
        gt=0,
        description="after this, a request that claimed a key and never answered counts as crashed",
    )


def settings_for(service: str) -> type[ServiceSettings]:
    """A settings class reading `ROADBRANCH_<SERVICE>_*`."""
    prefix = f"ROADBRANCH_{service.upper()}_"
    return type(
        f"{service.title()}Settings",
        (ServiceSettings,),
        # Errors name the field and the reason, never the values given (secrets among them).
        {"model_config": SettingsConfigDict(env_prefix=prefix, extra="ignore", hide_input_in_errors=True)},
    )
