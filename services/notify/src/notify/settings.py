"""Settings of the notify service, from `ROADBRANCH_NOTIFY_*` environment variables.

Provider credentials (the SMS API key, the WeChat Work application's secret, the SMTP password) come
from the environment only; lists are JSON, e.g. `ROADBRANCH_NOTIFY_REMINDER_OFFSETS_MINUTES=[1440,60]`.
"""

from datetime import time
from typing import Self

from pydantic import Field, SecretStr, model_validator
from roadbranch_shared.settings import ServiceSettings, settings_for
from roadbranch_shared.sms_cloud import CloudSmsSettings


class Settings(settings_for("notify"), CloudSmsSettings):  # type: ignore[misc]
    consumer_group: str = Field(default="notify", description="Kafka consumer group of the subscriptions")
    timezone: str = Field(default="Asia/Shanghai", description="drivers' local time: quiet hours, days")
    quiet_start: time = Field(default=time(22, 0), description="from this local time non-urgent waits")
    quiet_end: time = Field(default=time(7, 0), description="until this local time the next morning")
    daily_cap: int = Field(
        default=5, ge=1, description="messages a recipient gets a day; more go in a digest"
    )
    reminder_offsets_minutes: list[int] = Field(
        default=[1440, 60], description="meeting reminders this many minutes before it starts"
    )
    fallback_order: list[str] = Field(
        default=["wechat", "sms", "email", "inbox"], description="channels tried after the preferred one"
    )
    max_attempts: int = Field(default=5, ge=1, description="tries on one channel before falling back")
    retry_base_seconds: float = Field(default=30, gt=0, description="first retry delay, doubled each time")
    retry_max_seconds: float = Field(default=3600, gt=0)
    worker_interval_seconds: float = Field(default=1.0, gt=0, description="how often due messages are sought")
    batch_size: int = Field(default=500, ge=1, le=5000, description="due messages taken per worker pass")
    send_concurrency: int = Field(default=32, ge=1, le=500, description="sends in flight at once")
    send_timeout_seconds: float = Field(default=10, gt=0)
    lease_seconds: float = Field(
        default=300,
        gt=0,
        description="how long a worker pass holds the messages it took: no other replica takes them "
        "meanwhile, and a crashed replica's are taken up after it",
    )
    fanout_batch_size: int = Field(default=500, ge=1, le=5000, description="recipients queued per write")
    metrics_interval_seconds: float = Field(default=5, gt=0, description="how often the gauges are recounted")
    driver_app_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s?#]+$",
        description="the driver app's address as drivers open it (e.g. https://<the county's site>/driver): "
        "learning pushes link to the item",
    )
    controllable_clock: bool = Field(
        default=False, description="let an operator set the service's 'now' (tests and drills only)"
    )

    sms_url: str | None = Field(default=None, description="base URL of the SMS provider's HTTP API")
    sms_api_key: SecretStr | None = None
    sms_sign: str = Field(
        default="流动党员之家", description="the sender signature registered with the provider"
    )
    sms_idempotency_keys: bool = Field(
        default=True,
        description="the provider honours Idempotency-Key (a resend after a crash is no duplicate)",
    )
    wechat_api_url: str = Field(
        default="https://qyapi.weixin.qq.com", description="WeChat Work API (application messages)"
    )
    wechat_corp_id: str | None = Field(default=None, description="the county's WeChat Work corp id (企业ID)")
    wechat_agent_id: int | None = Field(default=None, description="the notify application's AgentId")
    wechat_secret: SecretStr | None = Field(default=None, description="the application's Secret")
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str = "notify@roadbranch.invalid"

    @model_validator(mode="after")
    def _a_lease_outlasts_a_pass(self) -> Self:
        rounds = -(-self.batch_size // self.send_concurrency)  # sends of a full batch, in turns
        if self.lease_seconds <= self.send_timeout_seconds * rounds:
            raise ValueError(
                f"lease_seconds must be longer than a full pass can take, send_timeout_seconds × "
                f"batch_size / send_concurrency = {self.send_timeout_seconds * rounds:g} s: a message's "
                "lease may not end while its send can still be answered"
            )
        return self


__all__ = ["ServiceSettings", "Settings"]
