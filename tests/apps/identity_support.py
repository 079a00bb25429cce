"""Helpers for tests (and the demo) that drive a real identity process: start it with a bootstrap
administrator, an SMS provider and the stack's contact key; sign in; the environment other services
need to verify its tokens."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from notify_support import EventPublisher
from roadbranch_shared.contracts.roster import ContactPointChanged
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.pii import PiiKeys, generate_key, seal_contact_point

ADMIN = "admin"
ADMIN_PASSWORD = "Kaishi-2026-guanli"
ISSUER = "roadbranch-identity-tests"


def auth_env(identity_url: str) -> dict[str, str]:
    """What every other service needs to accept identity's tokens."""
    return {
        "ROADBRANCH_AUTH_ISSUER": ISSUER,
        "ROADBRANCH_AUTH_JWKS_URL": identity_url + "/.well-known/jwks.json",
    }


class Identity:
    def __init__(
        self,
        stack_info: StackInfo,
        log_dir: Path,
        *,
        sms_url: str | None = None,
        env: dict[str, str] | None = None,
        **settings: str,
    ) -> None:
        self.database = f"identity_{secrets.token_hex(4)}"
        full_env = {
            **stack_info.service_env("identity"),
            "ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(),
            "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key(),
            "ROADBRANCH_AUTH_ISSUER": ISSUER,
            "ROADBRANCH_IDENTITY_MONGO_DB": self.database,
            "ROADBRANCH_IDENTITY_CONSUMER_GROUP": f"identity-{secrets.token_hex(4)}",
            "ROADBRANCH_IDENTITY_BOOTSTRAP_ADMIN_USERNAME": ADMIN,
            "ROADBRANCH_IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ROADBRANCH_IDENTITY_BOOTSTRAP_ADMIN_MUST_CHANGE": "false",
            **(
                {
                    "ROADBRANCH_IDENTITY_SMS_URL": sms_url,
                    "ROADBRANCH_IDENTITY_SMS_API_KEY": "local-sms-provider-key",
                }
                if sms_url
                else {}
            ),
            **{f"ROADBRANCH_IDENTITY_{k.upper()}": v for k, v in settings.items()},
            **(env or {}),
        }
        self.process = ServiceProcess(
            "identity.main:create_app", env=full_env, log=log_dir / f"{self.database}.log"
        )

    @property
    def url(self) -> str:
        return self.process.url

    def start(self) -> Identity:
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kwargs)

    def sign_in(self, username: str, password: str, **extra: Any) -> httpx.Response:
        return self.call("POST", "/v1/sessions", json={"username": username, "password": password, **extra})

    def admin_token(self) -> str:
        response = self.sign_in(ADMIN, ADMIN_PASSWORD)
        assert response.status_code == 201, response.text
        token: str = response.json()["access_token"]
        return token

    def staff(self, roles: list[str], password: str, *, org_scope: str | None = None) -> dict[str, Any]:
        """A new account, signed in once (setting `password` in place of the temporary one)."""
        username = f"u{secrets.token_hex(4)}"
        created = self.call(
            "POST",
            "/v1/accounts",
            self.admin_token(),
            json={"username": username, "display_name": "测试人员", "roles": roles, "org_scope": org_scope},
        )
        assert created.status_code == 201, created.text
        first = self.sign_in(username, created.json()["temporary_password"], new_password=password)
        assert first.status_code == 201, first.text
        return {"username": username, **first.json()}

    def audit(self, token: str, **query: str) -> list[dict[str, Any]]:
        response = self.call("GET", "/v1/audit", token, params={"limit": 500, **query})
        assert response.status_code == 200, response.text
        records: list[dict[str, Any]] = response.json()["records"]
        return records


async def publish_contact(stack_info: StackInfo, driver_id: str, phone: str) -> None:
    """Publish his phone on roster.contact.v1, sealed as roster seals it (the stack's contact key)."""
    keys = PiiKeys(
        blind_index_key=secrets.token_bytes(32),
        encryption_key=secrets.token_bytes(32),
        contact_key=base64.b64decode(stack_info.contact_key),
    )
    async with EventPublisher(stack_info.kafka_bootstrap, source="/roster") as events:
        await events.publish(
            ContactPointChanged(
                driver_id=driver_id,
                phone_sealed=seal_contact_point(keys, driver_id, "phone", phone),
                changed_at=datetime.now(UTC),
            ),
            driver_id,
        )
