"""The parts of a started identity process, built from its settings once the database is open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.pii import PiiKeys
from roadbranch_shared.sms import Sender, SmsProvider
from roadbranch_shared.sms_cloud import cloud_sms

from identity.app.accounts import Accounts, Policy
from identity.app.audit import Audit
from identity.app.drivers import CodePolicy, DriverSignIn
from identity.app.keyring import Keyring
from identity.app.limits import Limits
from identity.app.sessions import Sessions
from identity.settings import Settings


@dataclass
class Parts:
    pii: PiiKeys
    audit: Audit
    limits: Limits
    keyring: Keyring
    sessions: Sessions
    accounts: Accounts
    drivers: DriverSignIn
    http: httpx.AsyncClient

    @classmethod
    def build(
        cls,
        db: AsyncDatabase[dict[str, Any]],
        settings: Settings,
        pii: PiiKeys,
        *,
        issuer: str,
        audience: str,
    ) -> Parts:
        audit = Audit(db)
        limits = Limits(db)
        keyring = Keyring(db, pii, rotate_after=timedelta(days=settings.key_rotation_days))
        http = httpx.AsyncClient(timeout=settings.sms_timeout_seconds)
        sms: Sender | None = cloud_sms(http, settings, settings.sms_sign)  # Aliyun and/or Tencent
        if sms is None and settings.sms_url:
            key = settings.sms_api_key.get_secret_value() if settings.sms_api_key else ""
            sms = SmsProvider(
                http, settings.sms_url, key, settings.sms_sign, honours_keys=settings.sms_idempotency_keys
            )
        return cls(
            pii=pii,
            audit=audit,
            limits=limits,
            keyring=keyring,
            sessions=Sessions(
                db,
                keyring,
                issuer=issuer,
                audience=audience,
                access_ttl=timedelta(minutes=settings.access_token_minutes),
                refresh_ttl=timedelta(days=settings.refresh_token_days),
                grace=timedelta(seconds=settings.refresh_grace_seconds),
            ),
            accounts=Accounts(
                db,
                pii,
                audit,
                limits,
                Policy(settings.lockout_failures, timedelta(minutes=settings.lockout_minutes)),
            ),
            drivers=DriverSignIn(
                db,
                pii,
                sms,
                CodePolicy(
                    ttl=timedelta(seconds=settings.code_ttl_seconds),
                    attempts=settings.code_attempts,
                    resend=timedelta(seconds=settings.code_resend_seconds),
                    per_phone_hour=settings.codes_per_phone_hour,
                    per_address_hour=settings.codes_per_address_hour,
                ),
            ),
            http=http,
        )

    async def prepare(self) -> None:
        for part in (self.audit, self.accounts, self.sessions, self.drivers):
            await part.prepare()

    async def close(self) -> None:
        await self.drivers.close()
        await self.http.aclose()
