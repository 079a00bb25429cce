"""Staff accounts: created, changed, disabled and reset by an administrator; signed in with a
username and password. Every change and every sign-in, failed or not, is an audit record."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.auth import Role
from roadbranch_shared.contracts import identity as events
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.errors import ApiError, ErrorCode, FieldError
from roadbranch_shared.pii import PiiKeys, blind_index

from identity.app.audit import Audit
from identity.app.limits import Limits
from identity.domain.passwords import (
    PolicyProblem,
    hash_password,
    needs_rehash,
    policy_problems,
    temporary_password,
    verify_password,
)

# Roles that act for one organisation must name it.
SCOPED_ROLES = frozenset({Role.BRANCH_SECRETARY, Role.STATION_STAFF})
STAFF_ROLES = tuple(r for r in Role if r is not Role.DRIVER)

CREDENTIALS_REFUSED = "用户名或密码不正确。"


def refused(status: int, reason: str, message: str, *, field: str | None = None, **details: Any) -> ApiError:
    """A refused sign-in: the reason is the error's code and is named in its body too."""
    return ApiError(status, reason, message, field=field, details={"reason": reason, **details})


@dataclass(frozen=True)
class Policy:
    lockout_failures: int
    lockout: timedelta


def account_view(account: Document) -> Document:
    return {
        "account_id": account["_id"],
        "username": account["username"],
        "display_name": account["display_name"],
        "roles": account["roles"],
        "org_scope": account.get("org_scope"),
        "disabled": account["disabled"],
        "must_change_password": account["must_change"],
        "created_at": account["created_at"],
        "last_sign_in_at": account.get("last_sign_in_at"),
    }


def principal_of(account: Document, role: str) -> Document:
    return {
        "subject": account["_id"],
        "kind": "staff",
        "role": role,
        "roles": account["roles"],
        "org_scope": account.get("org_scope"),
    }


def check_roles(roles: list[str], org_scope: str | None, field_prefix: str = "body") -> None:
    problems: list[FieldError] = []
    if len(set(roles)) != len(roles):
        problems.append(FieldError(f"{field_prefix}.roles", "duplicate", "角色不能重复。"))
    if any(Role(r) in SCOPED_ROLES for r in roles) and not org_scope:
        problems.append(
            FieldError(
                f"{field_prefix}.org_scope",
                "required_for_role",
                "支部书记和驿站工作人员须填写所属组织（org_scope）。",
            )
        )
    if problems:
        raise ApiError.invalid(problems)


class Accounts:
    def __init__(
        self, db: AsyncDatabase[Document], pii: PiiKeys, audit: Audit, limits: Limits, policy: Policy
    ):
        self.accounts = db.accounts
        self.pii = pii
        self.audit = audit
        self.limits = limits
        self.policy = policy

    async def prepare(self) -> None:
        await self.accounts.create_index("username", unique=True)

    def _lock_key(self, username: str) -> str:
        return blind_index(self.pii, username, purpose="identity.username")

    async def get(self, account_id: str) -> Document | None:
        return await self.accounts.find_one({"_id": account_id})

    async def page(self, *, limit: int, after: str | None) -> list[Document]:
        query: Document = {"_id": {"$gt": after}} if after else {}
        return await self.accounts.find(query).sort("_id", 1).limit(limit).to_list(None)

    async def create(
        self,
        username: str,
        display_name: str,
        roles: list[str],
        org_scope: str | None,
        actor: str,
        now: datetime,
        *,
        password: str | None = None,
        must_change: bool = True,
    ) -> tuple[Document, str]:
        check_roles(roles, org_scope)
        password = password or temporary_password()
        account = {
            "_id": f"acc_{uuid.uuid4().hex[:16]}",
            "username": username,
            "display_name": display_name,
            "roles": roles,
            "org_scope": org_scope,
            "password_hash": await asyncio.to_thread(hash_password, password),
            "must_change": must_change,
            "disabled": False,
            "created_at": now,
            "password_changed_at": now,
            "version": 0,
        }
        try:
            await self.accounts.insert_one(account)
        except DuplicateKeyError:
            raise ApiError(
                409, ErrorCode.CONFLICT, "该用户名已被使用，请换一个。", field="body.username"
            ) from None
        await self.audit.record(
            events.AccountCreated(
                account_id=account["_id"], roles=roles, org_scope=org_scope, actor=actor, at=now
            ),
            now,
        )
        return account, password

    async def ensure_administrator(
        self, username: str, password: str, *, must_change: bool, now: datetime
    ) -> None:
        if await self.accounts.find_one({"username": username}, {"_id": 1}) is not None:
            return
        problems = policy_problems(password, username=username)
        if problems:
            raise ValueError(
                "ROADBRANCH_IDENTITY_BOOTSTRAP_ADMIN_PASSWORD: " + "；".join(p.message for p in problems)
            )
        with contextlib.suppress(ApiError):  # another replica made it first
            await self.create(
                username,
                "系统管理员",
                [Role.ADMINISTRATOR.value],
                None,
                "bootstrap",
                now,
                password=password,
                must_change=must_change,
            )

    async def change(
        self,
        account_id: str,
        actor: str,
        now: datetime,
        *,
        display_name: str | None,
        roles: list[str] | None,
        org_scope: str | None,
        scope_given: bool,
    ) -> Document:
        for _ in range(10):
            account = await self._existing(account_id)
            new_roles = roles if roles is not None else account["roles"]
            new_scope = org_scope if scope_given else account.get("org_scope")
            check_roles(new_roles, new_scope)
            update = {
                "display_name": display_name or account["display_name"],
                "roles": new_roles,
                "org_scope": new_scope,
            }
            if await self._write(account, update):
                if new_roles != account["roles"] or new_scope != account.get("org_scope"):
                    await self.audit.record(
                        events.AccountRolesChanged(
                            account_id=account_id,
                            roles=new_roles,
                            previous_roles=account["roles"],
                            org_scope=new_scope,
                            previous_org_scope=account.get("org_scope"),
                            actor=actor,
                            at=now,
                        ),
                        now,
                    )
                return {**account, **update}
        raise ApiError(409, ErrorCode.CONFLICT, "账号正被他人修改，请稍后重试。")

    async def set_disabled(self, account_id: str, disabled: bool, actor: str, now: datetime) -> Document:
        if disabled and account_id == actor:
            raise ApiError(409, ErrorCode.CONFLICT, "不能停用自己正在使用的账号。")
        account = await self._existing(account_id)
        if account["disabled"] == disabled:
            return account
        await self.accounts.update_one(
            {"_id": account_id}, {"$set": {"disabled": disabled}, "$inc": {"version": 1}}
        )
        event = events.AccountDisabled if disabled else events.AccountEnabled
        await self.audit.record(event(account_id=account_id, actor=actor, at=now), now)
        return {**account, "disabled": disabled}

    async def reset_password(self, account_id: str, actor: str, now: datetime) -> tuple[Document, str]:
        account = await self._existing(account_id)
        password = temporary_password()
        hashed = await asyncio.to_thread(hash_password, password)
        await self.accounts.update_one(
            {"_id": account_id},
            {
                "$set": {"password_hash": hashed, "must_change": True, "password_changed_at": now},
                "$inc": {"version": 1},
            },
        )
        await self.limits.succeeded(self._lock_key(account["username"]))  # a reset lifts a lock
        await self.audit.record(events.PasswordReset(account_id=account_id, actor=actor, at=now), now)
        return account, password

    async def sign_in(
        self, username: str, password: str, now: datetime, *, new_password: str | None, role: str | None
    ) -> tuple[Document, str]:
        """The account and the role it signs in as; ApiError naming the reason otherwise."""
        key = self._lock_key(username)
        lock = await self.limits.lock_of(key, now)
        account = await self.accounts.find_one({"username": username})
        subject = account["_id"] if account else None
        if lock.until is not None:
            await self._failed(subject, "locked", now)
            raise refused(
                423,
                "account_locked",
                "密码错误次数过多，账号已暂时锁定，请稍后再试或联系管理员重置密码。",
                locked_until=lock.until.isoformat(),
            )
        good = await asyncio.to_thread(
            verify_password, account["password_hash"] if account else None, password
        )
        if account is None or not good:
            lock = await self.limits.failed(
                key, now, limit=self.policy.lockout_failures, lock_for=self.policy.lockout
            )
            await self._failed(subject, "wrong_password" if account else "unknown_account", now)
            if lock.until is not None:
                await self.audit.record(
                    events.AccountLocked(
                        account_id=subject, failures=lock.failures, until=lock.until, at=now
                    ),
                    now,
                )
            raise refused(401, "credentials_refused", CREDENTIALS_REFUSED, field="body.password")
        await self.limits.succeeded(key)
        if account["disabled"]:
            await self._failed(subject, "disabled", now)
            raise refused(403, "account_disabled", "该账号已停用，请联系管理员。")
        chosen = role or account["roles"][0]
        if chosen not in account["roles"]:
            raise refused(
                403, "role_not_held", "该账号没有所选角色。", field="body.role", roles=account["roles"]
            )
        if account["must_change"]:
            if new_password is None:
                await self._failed(subject, "password_change_required", now)
                raise refused(
                    403,
                    "password_change_required",
                    "首次登录或密码重置后，请先设置新密码。",
                    field="body.new_password",
                )
            await self._set_password(account, new_password, now, forced=True, old=password)
        elif needs_rehash(account["password_hash"]):
            await self._store_hash(account["_id"], password, now)
        await self.accounts.update_one({"_id": account["_id"]}, {"$set": {"last_sign_in_at": now}})
        return account, chosen

    async def change_password(self, account_id: str, current: str, new: str, now: datetime) -> None:
        account = await self._existing(account_id)
        if not await asyncio.to_thread(verify_password, account["password_hash"], current):
            raise ApiError(
                403,
                "credentials_refused",
                "当前密码不正确。",
                field="body.current_password",
                details={"reason": "credentials_refused"},
            )
        await self._set_password(account, new, now, forced=False, old=current)

    async def still_allowed(self, account_id: str, role: str | None) -> tuple[Document, str] | None:
        """At a refresh: the account as it stands now and the role to keep, or None if it may no
        longer sign in (disabled, or the role was taken away and no other is held)."""
        account = await self.accounts.find_one({"_id": account_id})
        if account is None or account["disabled"] or account["must_change"]:
            return None
        if role is not None and role in account["roles"]:
            return account, role
        return (account, account["roles"][0]) if account["roles"] else None

    async def _set_password(
        self, account: Document, new: str, now: datetime, *, forced: bool, old: str
    ) -> None:
        problems = policy_problems(new, username=account["username"])
        if new == old:
            problems.append(PolicyProblem("same_as_old", "新密码不能与原密码相同。"))
        if problems:
            field = "body.new_password"
            raise ApiError.invalid([FieldError(field, p.reason, p.message) for p in problems])
        await self._store_hash(account["_id"], new, now, must_change=False)
        await self.audit.record(events.PasswordChanged(account_id=account["_id"], forced=forced, at=now), now)

    async def _store_hash(self, account_id: str, password: str, now: datetime, **extra: Any) -> None:
        hashed = await asyncio.to_thread(hash_password, password)
        await self.accounts.update_one(
            {"_id": account_id},
            {"$set": {"password_hash": hashed, "password_changed_at": now, **extra}, "$inc": {"version": 1}},
        )

    async def _failed(self, subject: str | None, reason: str, now: datetime) -> None:
        await self.audit.record(
            events.SignInFailed(
                subject=subject, subject_kind="staff", method="password", reason=reason, at=now
            ),
            now,
        )

    async def _existing(self, account_id: str) -> Document:
        account = await self.accounts.find_one({"_id": account_id})
        if account is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, "没有这个账号。", field="path.account_id")
        return account

    async def _write(self, account: Document, update: Document) -> bool:
        return await update_if(
            self.accounts,
            account["_id"],
            {"version": account["version"]},
            {"$set": {**update, "version": account["version"] + 1}},
        )
