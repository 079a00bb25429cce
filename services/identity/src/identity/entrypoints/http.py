"""HTTP API of the identity service: sign-in for staff (password) and drivers (SMS code), sessions,
the JWKS the other services verify tokens with, accounts for administrators, the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from roadbranch_shared.auth import CurrentPrincipal, Principal, Role, require_roles
from roadbranch_shared.contracts import identity as events
from roadbranch_shared.errors import ApiError, ErrorCode, FieldError
from roadbranch_shared.pii import blind_index, validate_phone
from roadbranch_shared.request_body import RequestBody, one_of

from identity.app.accounts import STAFF_ROLES, account_view, principal_of
from identity.app.sessions import RefreshRefused
from identity.main_parts import Parts

router = APIRouter(tags=["identity"])
Administrators = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
AuditReaders = Annotated[Principal, Depends(require_roles(Role.ORG_DEPARTMENT, Role.ADMINISTRATOR))]

USERNAME = r"^[a-z][a-z0-9_.-]{2,31}$"
STAFF_ROLE_VALUES = [r.value for r in STAFF_ROLES]
CODE_REFUSED = "手机号或验证码不正确，或验证码已过期，请重新获取。"


def parts(request: Request) -> Parts:
    found: Parts = request.app.state.parts
    return found


PartsDep = Annotated[Parts, Depends(parts)]


def now() -> datetime:
    return datetime.now(UTC)


# ---- bodies


class PasswordSignIn(RequestBody):
    username: str = Field(pattern=USERNAME, description="lower-case letters, digits, _ . -")
    password: str = Field(min_length=1, max_length=128)
    new_password: str | None = Field(
        default=None, max_length=128, description="required at the first sign-in and after a reset"
    )
    role: str | None = Field(default=None, json_schema_extra=one_of(STAFF_ROLE_VALUES, optional=True))


class RefreshIn(RequestBody):
    refresh_token: str = Field(min_length=10, max_length=200)
    role: str | None = Field(
        default=None,
        description="switch to another role the account holds",
        json_schema_extra=one_of(STAFF_ROLE_VALUES, optional=True),
    )


class SignOutIn(RequestBody):
    refresh_token: str = Field(min_length=10, max_length=200)


class CodeRequest(RequestBody):
    phone: str = Field(min_length=1, max_length=20, description="the mobile number roster knows")


class CodeSignIn(RequestBody):
    phone: str = Field(min_length=1, max_length=20)
    code: str = Field(pattern=r"^[0-9]{6}$", description="the 6 digits of the SMS")


class AccountIn(RequestBody):
    username: str = Field(pattern=USERNAME)
    display_name: str = Field(min_length=1, max_length=50, description="shown to staff, e.g. 王丽（组织部）")
    roles: list[Annotated[str, Field(json_schema_extra=one_of(STAFF_ROLE_VALUES))]] = Field(
        min_length=1, max_length=len(STAFF_ROLES)
    )
    org_scope: str | None = Field(
        default=None, min_length=1, max_length=64, description="the organisation acted for"
    )


class AccountPatch(RequestBody):
    display_name: str | None = Field(default=None, min_length=1, max_length=50)
    roles: list[Annotated[str, Field(json_schema_extra=one_of(STAFF_ROLE_VALUES))]] | None = Field(
        default=None, min_length=1, max_length=len(STAFF_ROLES)
    )
    org_scope: str | None = Field(default=None, min_length=1, max_length=64)


class PasswordChange(RequestBody):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


def _check_role_values(roles: list[str] | None, field: str = "body.roles") -> None:
    bad = [i for i, r in enumerate(roles or []) if r not in STAFF_ROLE_VALUES]
    if bad:
        raise ApiError.invalid(
            [FieldError(f"{field}.{i}", "enum", "没有这个角色（司机不使用账号密码登录）。") for i in bad]
        )


def _phone(raw: str) -> str:
    check = validate_phone(raw)
    if not check.ok or check.normalized is None:
        reason = check.errors[0] if check.errors else "format"
        raise ApiError.invalid([FieldError("body.phone", reason, "请填写 11 位手机号码。")])
    return check.normalized


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---- public keys


@router.get("/.well-known/jwks.json", tags=["keys"])
async def jwks(p: PartsDep, response: Response) -> dict[str, Any]:
    """The public keys access tokens are signed with (the current one and the previous one)."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return await p.keyring.jwks()


@router.post("/v1/keys/rotate", tags=["keys"])
async def rotate_keys(p: PartsDep, principal: Administrators) -> dict[str, Any]:
    """A new signing key now; the one it replaces stays published until its tokens have expired."""
    return {"kid": await p.keyring.rotate(now())}


# ---- staff sign-in and sessions


@router.post("/v1/sessions", status_code=201, tags=["sessions"])
async def sign_in(body: PasswordSignIn, p: PartsDep) -> dict[str, Any]:
    """Sign in with username and password. At the first sign-in (and after a reset) the new password
    is given in the same request, as `new_password`."""
    at = now()
    account, role = await p.accounts.sign_in(
        body.username, body.password, at, new_password=body.new_password, role=body.role
    )
    grant = await p.sessions.start(principal_of(account, role), "password", at)
    await p.audit.record(
        events.SignedIn(
            subject=account["_id"],
            subject_kind="staff",
            role=role,
            method="password",
            session_id=grant.session_id,
            at=at,
        ),
        at,
    )
    return {**grant.body(), "account": account_view(account)}


@router.post("/v1/sessions/refresh", tags=["sessions"])
async def refresh(body: RefreshIn, p: PartsDep) -> dict[str, Any]:
    """A new access token and a new refresh token for a refresh token; the old one is spent."""
    at = now()
    try:
        session, secret = await p.sessions.refresh(body.refresh_token, at)
    except RefreshRefused as refused:
        subject = refused.session["subject"] if refused.session else None
        kind = refused.session["kind"] if refused.session else "staff"
        await p.audit.record(
            events.SignInFailed(
                subject=subject, subject_kind=kind, method="refresh", reason=refused.reason, at=at
            ),
            at,
        )
        if refused.reason == "refresh_reused" and refused.session is not None:
            await p.audit.record(
                events.SessionEnded(
                    subject=refused.session["subject"],
                    session_id=refused.session["_id"],
                    reason="refresh_reused",
                    at=at,
                ),
                at,
            )
        raise ApiError(
            401,
            "refresh_refused",
            "登录已失效，请重新登录。",
            field="body.refresh_token",
            details={"reason": refused.reason},
        ) from None
    principal = await _principal_now(p, session, body.role)
    if principal is None:
        await p.sessions.end(session["_id"], "no_longer_allowed", at)
        raise ApiError(
            401,
            "refresh_refused",
            "账号已停用或权限已变更，请重新登录。",
            field="body.refresh_token",
            details={"reason": "no_longer_allowed"},
        )
    if body.role is not None and principal["role"] != body.role:
        raise ApiError(403, ErrorCode.FORBIDDEN, "该账号没有所选角色。", field="body.role")
    grant = await p.sessions.reissue(session, secret, principal, at)
    return grant.body()


async def _principal_now(p: Parts, session: dict[str, Any], role: str | None) -> dict[str, Any] | None:
    if session["kind"] == "driver":
        if not await p.drivers.knows(session["driver_id"]):
            return None
        return {k: session[k] for k in ("subject", "kind", "role", "driver_id")}
    allowed = await p.accounts.still_allowed(session["subject"], role or session["role"])
    if allowed is None:
        return None
    account, chosen = allowed
    return principal_of(account, chosen)


@router.post("/v1/sessions/sign-out", status_code=204, tags=["sessions"])
async def sign_out(body: SignOutIn, p: PartsDep) -> Response:
    """End the session the refresh token belongs to; its refresh token is refused from now on."""
    at = now()
    # Only the token's holder ends it: a session id alone (the audit trail shows them) is not enough.
    session = await p.sessions.holder(body.refresh_token)
    if session is not None and await p.sessions.end(session["_id"], "signed_out", at) is not None:
        await p.audit.record(
            events.SessionEnded(
                subject=session["subject"], session_id=session["_id"], reason="signed_out", at=at
            ),
            at,
        )
    return Response(status_code=204)


# ---- drivers: a code by SMS


@router.post("/v1/driver-codes", status_code=202, tags=["drivers"])
async def ask_for_code(body: CodeRequest, request: Request, p: PartsDep) -> dict[str, Any]:
    """Send a sign-in code to the phone, if roster knows it. The answer is the same either way."""
    at = now()
    phone = _phone(body.phone)
    index = p.drivers.phone_index(phone)
    address = blind_index(p.pii, _address(request), purpose="identity.address")
    policy = p.drivers.policy
    waits = [
        await p.limits.take(
            "code-address", address, at, per=timedelta(hours=1), limit=policy.per_address_hour
        ),
        await p.limits.take("code-phone", index, at, per=timedelta(hours=1), limit=policy.per_phone_hour),
    ]
    if policy.resend.total_seconds() > 0:
        waits.append(await p.limits.take("code-resend", index, at, per=policy.resend, limit=1))
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"获取验证码过于频繁，请 {wait} 秒后再试。",
            field="body.phone",
            details={"reason": "rate_limited", "retry_after": wait},
            headers={"Retry-After": str(wait)},
        )
    await p.drivers.send_code(phone, at)
    seconds = int(policy.ttl.total_seconds())
    return {
        "message": "如果该手机号已在系统登记，验证码已发送，请查看短信。",
        "expires_in": seconds,
        "resend_after": int(policy.resend.total_seconds()),
    }


@router.post("/v1/driver-sessions", status_code=201, tags=["drivers"])
async def driver_sign_in(body: CodeSignIn, p: PartsDep) -> dict[str, Any]:
    """Sign in with the phone and the code it was sent."""
    at = now()
    phone = _phone(body.phone)
    driver_id = await p.drivers.check_code(phone, body.code, at)
    if driver_id is None:
        await p.audit.record(
            events.SignInFailed(
                subject=None, subject_kind="driver", method="sms_code", reason="code_refused", at=at
            ),
            at,
        )
        raise ApiError(
            401, "code_refused", CODE_REFUSED, field="body.code", details={"reason": "code_refused"}
        )
    principal = {
        "subject": f"driver:{driver_id}",
        "kind": "driver",
        "role": Role.DRIVER.value,
        "driver_id": driver_id,
    }
    grant = await p.sessions.start(principal, "sms_code", at)
    await p.audit.record(
        events.SignedIn(
            subject=principal["subject"],
            subject_kind="driver",
            role="driver",
            method="sms_code",
            session_id=grant.session_id,
            at=at,
        ),
        at,
    )
    return {**grant.body(), "driver_id": driver_id}


# ---- the caller


@router.get("/v1/me", tags=["me"])
async def me(principal: CurrentPrincipal, p: PartsDep) -> dict[str, Any]:
    """Who is signed in: the account (staff) or the driver id, the role in use and the scope that
    role has in this session (`org_scope`: a branch secretary's branch, a station staff's station)."""
    body: dict[str, Any] = {
        "subject": principal.subject,
        "role": principal.role,
        "role_label": principal.role.label,
    }
    if principal.role is Role.DRIVER:
        return {**body, "driver_id": principal.driver_id}
    body["org_scope"] = principal.org_scope
    account = await p.accounts.get(principal.subject)
    if account is None:
        return body
    return {**body, "account": account_view(account)}


@router.put("/v1/me/password", status_code=204, tags=["me"])
async def change_my_password(body: PasswordChange, principal: CurrentPrincipal, p: PartsDep) -> Response:
    if principal.role is Role.DRIVER or await p.accounts.get(principal.subject) is None:
        raise ApiError(403, ErrorCode.FORBIDDEN, "只有本系统的员工账号可以修改密码。")
    await p.accounts.change_password(principal.subject, body.current_password, body.new_password, now())
    return Response(status_code=204)


# ---- accounts (administrators)


@router.post("/v1/accounts", status_code=201, tags=["accounts"])
async def create_account(body: AccountIn, principal: Administrators, p: PartsDep) -> dict[str, Any]:
    """A staff account with a temporary password, shown once: the holder sets his own at the first
    sign-in."""
    _check_role_values(body.roles)
    account, password = await p.accounts.create(
        body.username, body.display_name, body.roles, body.org_scope, principal.subject, now()
    )
    return {"account": account_view(account), "temporary_password": password}


@router.get("/v1/accounts", tags=["accounts"])
async def list_accounts(
    principal: Administrators,
    p: PartsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[
        str | None, Query(max_length=64, description="the last account_id of the page before")
    ] = None,
) -> dict[str, Any]:
    found = await p.accounts.page(limit=limit, after=after)
    return {
        "accounts": [account_view(a) for a in found],
        "next": found[-1]["_id"] if len(found) == limit else None,
    }


@router.get("/v1/accounts/{account_id}", tags=["accounts"])
async def get_account(account_id: str, principal: Administrators, p: PartsDep) -> dict[str, Any]:
    account = await p.accounts.get(account_id)
    if account is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "没有这个账号。", field="path.account_id")
    return account_view(account)


@router.patch("/v1/accounts/{account_id}", tags=["accounts"])
async def change_account(
    account_id: str, body: AccountPatch, principal: Administrators, p: PartsDep
) -> dict[str, Any]:
    """Change the display name, roles or organisation; sessions keep going with what is held now."""
    _check_role_values(body.roles)
    account = await p.accounts.change(
        account_id,
        principal.subject,
        now(),
        display_name=body.display_name,
        roles=body.roles,
        org_scope=body.org_scope,
        scope_given="org_scope" in body.model_fields_set,
    )
    return account_view(account)


@router.post("/v1/accounts/{account_id}/disable", tags=["accounts"])
async def disable_account(account_id: str, principal: Administrators, p: PartsDep) -> dict[str, Any]:
    """No more sign-ins; every session ends (access tokens already out expire within minutes)."""
    at = now()
    account = await p.accounts.set_disabled(account_id, True, principal.subject, at)
    await _end_sessions(p, account_id, "account_disabled", at)
    return account_view(account)


@router.post("/v1/accounts/{account_id}/enable", tags=["accounts"])
async def enable_account(account_id: str, principal: Administrators, p: PartsDep) -> dict[str, Any]:
    return account_view(await p.accounts.set_disabled(account_id, False, principal.subject, now()))


@router.post("/v1/accounts/{account_id}/password-reset", tags=["accounts"])
async def reset_password(account_id: str, principal: Administrators, p: PartsDep) -> dict[str, Any]:
    """A new temporary password (shown once) and the end of every session; a lock is lifted."""
    at = now()
    account, password = await p.accounts.reset_password(account_id, principal.subject, at)
    await _end_sessions(p, account_id, "password_reset", at)
    return {"account": account_view({**account, "must_change": True}), "temporary_password": password}


async def _end_sessions(p: Parts, subject: str, reason: str, at: datetime) -> None:
    for session_id in await p.sessions.end_all(subject, reason, at):
        await p.audit.record(
            events.SessionEnded(subject=subject, session_id=session_id, reason=reason, at=at), at
        )


# ---- the audit trail


@router.get("/v1/audit", tags=["audit"])
async def audit(
    principal: AuditReaders,
    p: PartsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[datetime | None, Query(description="records before this time (the next page)")] = None,
    subject: Annotated[str | None, Query(max_length=80, description="an account id or driver:<id>")] = None,
    type: Annotated[str | None, Query(max_length=100, description="an event type")] = None,
) -> dict[str, Any]:
    """Sign-ins, failures, lockouts and account changes, newest first (ids and codes only)."""
    records = await p.audit.recent(limit=limit, before=before, subject=subject, kind=type)
    return {"records": records, "next_before": records[-1]["at"] if len(records) == limit else None}
