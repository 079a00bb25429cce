"""Settings of the identity service, from `ROADBRANCH_IDENTITY_*` environment variables.

The issuer and audience of the tokens it signs are the deployment's `ROADBRANCH_AUTH_ISSUER` and
`ROADBRANCH_AUTH_AUDIENCE`, the same settings every service verifies them with. Its own PII keys
(`ROADBRANCH_PII_BLIND_INDEX_KEY`, `ROADBRANCH_PII_ENCRYPTION_KEY`) index phone numbers and seal the
signing keys; `ROADBRANCH_PII_CONTACT_KEY` opens the contact points roster publishes.
"""

from pydantic import Field, SecretStr
from roadbranch_shared.settings import ServiceSettings, settings_for
from roadbranch_shared.sms_cloud import CloudSmsSettings


class Settings(settings_for("identity"), CloudSmsSettings):  # type: ignore[misc]
    consumer_group: str = Field(default="identity", description="Kafka consumer group of the roster views")
    access_token_minutes: int = Field(default=10, ge=1, le=60, description="lifetime of an access token")
    refresh_token_days: int = Field(default=14, ge=1, le=90, description="a session ends this long unused")
    refresh_grace_seconds: int = Field(
        default=60,
        ge=0,
        le=600,
        description="a refresh token just replaced still works this long (lost answers)",
    )
    key_rotation_days: int = Field(default=30, ge=1, description="the signing key is replaced this often")
    lockout_failures: int = Field(default=5, ge=1, description="wrong passwords in a row before a lock")
    lockout_minutes: int = Field(default=15, ge=1)
    code_ttl_seconds: int = Field(default=300, ge=1, le=900, description="how long a sign-in code is good")
    code_attempts: int = Field(default=5, ge=1, description="wrong tries before a code is spent")
    code_resend_seconds: int = Field(default=60, ge=0, description="least time between codes to one phone")
    codes_per_phone_hour: int = Field(default=5, ge=1)
    codes_per_address_hour: int = Field(default=20, ge=1, description="codes asked from one network address")
    sms_url: str | None = Field(default=None, description="base URL of the SMS provider's HTTP API")
    sms_api_key: SecretStr | None = None
    sms_sign: str = Field(
        default="流动党员之家", description="the sender signature registered with the provider"
    )
    sms_idempotency_keys: bool = True
    sms_timeout_seconds: float = Field(default=10, gt=0)
    bootstrap_admin_username: str | None = Field(
        default=None, description="an administrator account created at start if no account has this name"
    )
    bootstrap_admin_password: SecretStr | None = None
    bootstrap_admin_must_change: bool = Field(
        default=True, description="the bootstrap administrator sets a new password at his first sign-in"
    )


__all__ = ["ServiceSettings", "Settings"]
