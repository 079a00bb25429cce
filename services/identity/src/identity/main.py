"""The identity process: `uvicorn identity.main:app`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.jwt_auth import AuthSettings
from roadbranch_shared.periodic import start_periodically
from roadbranch_shared.pii import PiiKeys
from roadbranch_shared.service import Service
from roadbranch_shared.topics import IDENTITY_AUDIT

from identity.entrypoints import http
from identity.entrypoints.events import subscriptions
from identity.main_parts import Parts
from identity.settings import Settings

settings = Settings()
auth = AuthSettings()
# The issuer of the tokens identity signs; the other services name the same in ROADBRANCH_AUTH_ISSUER.
if auth.issuer is None:
    auth = auth.model_copy(update={"issuer": "roadbranch-identity"})
ISSUER: str = auth.issuer or "roadbranch-identity"


def parts() -> Parts:
    started: Parts = service.app.state.parts
    return started


async def own_keys() -> Mapping[str, Any]:
    return await parts().keyring.jwks()


service = Service(
    name="identity",
    settings=settings,
    outbox_collections=("audit",),
    publishes=(IDENTITY_AUDIT,),
    description="Identity: sign-in for staff and drivers, sessions, signing keys, the audit trail.",
    own_keys=own_keys,
    auth=auth,
)


async def prepare(db: AsyncDatabase[dict[str, Any]]) -> None:
    # The keys are read at start-up, not import: a missing key stops the service naming the variable.
    pii = PiiKeys.from_env()
    pii.require_contact_key()  # the contact points on roster.contact.v1 are sealed with it
    started = Parts.build(db, settings, pii, issuer=ISSUER, audience=auth.audience)
    await started.prepare()
    now = datetime.now(UTC)
    await started.keyring.prepare(now)
    if settings.bootstrap_admin_username and settings.bootstrap_admin_password:
        await started.accounts.ensure_administrator(
            settings.bootstrap_admin_username,
            settings.bootstrap_admin_password.get_secret_value(),
            must_change=settings.bootstrap_admin_must_change,
            now=now,
        )
    service.app.state.parts = started

    async def housekeeping() -> None:
        at = datetime.now(UTC)
        await started.keyring.rotate_if_due(at)
        await started.limits.prune(at)

    service.app.state.tasks = [start_periodically(housekeeping, 3600, name="identity housekeeping")]


service.on_startup = prepare
for subscription in subscriptions(settings.consumer_group, parts):
    service.subscribe(subscription)
service.include(http.router)
app = service.app
