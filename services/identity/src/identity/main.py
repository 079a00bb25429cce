"""The identity process: `uvicorn --factory identity.main:create_app`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document
from roadbranch_shared.jwt_auth import AuthSettings
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.pii import PiiKeys
from roadbranch_shared.service import Service
from roadbranch_shared.topics import IDENTITY_AUDIT

from identity.entrypoints import http
from identity.entrypoints.events import subscriptions
from identity.main_parts import Parts
from identity.settings import Settings

DEFAULT_ISSUER = "roadbranch-identity"


def create_app(
    settings: Settings | None = None,
    *,
    auth: AuthSettings | None = None,
    keys: PiiKeys | None = None,
    database: AsyncDatabase[Document] | None = None,
) -> FastAPI:
    """The identity app, every part built here from `settings` and `auth` (ROADBRANCH_* unless
    given). Without `keys` they are read from ROADBRANCH_PII_* now, when the process builds its app:
    a missing key stops it naming the variable."""
    settings = settings or Settings()
    auth = auth or AuthSettings()
    # The issuer of the tokens identity signs; the other services name the same in ROADBRANCH_AUTH_ISSUER.
    if auth.issuer is None:
        auth = auth.model_copy(update={"issuer": DEFAULT_ISSUER})
    keys = keys or PiiKeys.from_env()
    keys.require_contact_key()  # the contact points on roster.contact.v1 are sealed with it
    service = Service(
        name="identity",
        settings=settings,
        outbox_collections=("audit",),
        publishes=(IDENTITY_AUDIT,),
        description="Identity: sign-in for staff and drivers, sessions, signing keys, the audit trail.",
        auth=auth,
        database=database,
    )
    parts = Parts.build(
        service.db, settings, keys, issuer=auth.issuer or DEFAULT_ISSUER, audience=auth.audience
    )
    service.app.state.parts = parts

    async def own_keys() -> Mapping[str, Any]:
        return await parts.keyring.jwks()

    service.use_own_keys(own_keys)

    async def start(_: AsyncDatabase[Document]) -> None:
        await parts.prepare()
        now = datetime.now(UTC)
        await parts.keyring.prepare(now)
        if settings.bootstrap_admin_username and settings.bootstrap_admin_password:
            await parts.accounts.ensure_administrator(
                settings.bootstrap_admin_username,
                settings.bootstrap_admin_password.get_secret_value(),
                must_change=settings.bootstrap_admin_must_change,
                now=now,
            )

        async def housekeeping() -> None:
            at = datetime.now(UTC)
            await parts.keyring.rotate_if_due(at)
            await parts.limits.prune(at)

        service.app.state.tasks = [
            start_periodically(
                housekeeping, 3600, name="identity housekeeping", once_across=service.period_claims
            )
        ]

    service.on_startup = start
    for subscription in subscriptions(settings.consumer_group, parts):
        service.subscribe(subscription)
    service.include(http.router)
    return service.app
