"""Events of the identity service: the audit trail of sign-ins and account changes (审计日志).

Accounts are named by their internal id (`acc_…`), drivers by their roster `driver_id`; a username,
display name, phone number or sign-in code never travels on the topic. `actor` is the subject of the
administrator who made a change. `method` is `password`, `sms_code` or `refresh`.
"""

from __future__ import annotations

from datetime import datetime

from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import IDENTITY_AUDIT


@event_type("roadbranch.identity.account.created.v1", topic=IDENTITY_AUDIT)
class AccountCreated(EventPayload):
    account_id: str
    roles: list[str]
    org_scope: str | None = None
    actor: str
    at: datetime


@event_type("roadbranch.identity.account.roles_changed.v1", topic=IDENTITY_AUDIT)
class AccountRolesChanged(EventPayload):
    account_id: str
    roles: list[str]
    previous_roles: list[str]
    org_scope: str | None = None
    previous_org_scope: str | None = None
    actor: str
    at: datetime


@event_type("roadbranch.identity.account.disabled.v1", topic=IDENTITY_AUDIT)
class AccountDisabled(EventPayload):
    account_id: str
    actor: str
    at: datetime


@event_type("roadbranch.identity.account.enabled.v1", topic=IDENTITY_AUDIT)
class AccountEnabled(EventPayload):
    account_id: str
    actor: str
    at: datetime


@event_type("roadbranch.identity.account.password_reset.v1", topic=IDENTITY_AUDIT)
class PasswordReset(EventPayload):
    """An administrator set a temporary password; the account must change it at its next sign-in."""

    account_id: str
    actor: str
    at: datetime


@event_type("roadbranch.identity.account.password_changed.v1", topic=IDENTITY_AUDIT)
class PasswordChanged(EventPayload):
    """The account's holder chose a new password (`forced`: at the first sign-in or after a reset)."""

    account_id: str
    forced: bool
    at: datetime


@event_type("roadbranch.identity.account.locked.v1", topic=IDENTITY_AUDIT)
class AccountLocked(EventPayload):
    """Too many wrong passwords: sign-in is refused until `until`. `account_id` is None when the
    username is not an account's (the same lock applies, so a lock tells nobody whether it exists)."""

    account_id: str | None = None
    failures: int
    until: datetime
    at: datetime


@event_type("roadbranch.identity.session.signed_in.v1", topic=IDENTITY_AUDIT)
class SignedIn(EventPayload):
    subject: str
    subject_kind: str  # staff | driver
    role: str
    method: str
    session_id: str
    at: datetime


@event_type("roadbranch.identity.session.sign_in_failed.v1", topic=IDENTITY_AUDIT)
class SignInFailed(EventPayload):
    """`reason`: wrong_password, unknown_account, locked, disabled, password_change_required,
    code_refused, rate_limited, refresh_refused, refresh_reused. `subject` is None when the caller
    named no known account or driver."""

    subject: str | None = None
    subject_kind: str
    method: str
    reason: str
    at: datetime


@event_type("roadbranch.identity.session.ended.v1", topic=IDENTITY_AUDIT)
class SessionEnded(EventPayload):
    """`reason`: signed_out, account_disabled, password_reset, refresh_reused, driver_erased."""

    subject: str
    session_id: str
    reason: str
    at: datetime
