"""Bearer-token authentication and role checks for the services' FastAPI apps.

The app factory sets `app.state.authenticator` (`roadbranch_shared.jwt_auth`: signed access tokens
first, then the token table for machine callers); a bare app may set `app.state.token_table` alone.
Routes depend on `current_principal` or `require_roles(...)`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from roadbranch_shared.errors import ApiError, ErrorCode

log = logging.getLogger(__name__)

# Short tokens can be guessed; generate them with `secrets.token_urlsafe(32)`.
MIN_TOKEN_LENGTH = 16
DIGEST_PREFIX = "sha256:"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class Role(StrEnum):
    WORK_GROUP_STAFF = "work_group_staff"
    ORG_DEPARTMENT = "org_department"
    BRANCH_SECRETARY = "branch_secretary"
    INSTRUCTOR = "instructor"
    WELFARE_OFFICER = "welfare_officer"
    STATION_STAFF = "station_staff"
    DRIVER = "driver"
    OPERATOR = "operator"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        """The role's name as staff know it."""
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.WORK_GROUP_STAFF: "试点工作专班",
    Role.ORG_DEPARTMENT: "县委组织部",
    Role.BRANCH_SECRETARY: "支部书记",
    Role.INSTRUCTOR: "指导员",
    Role.WELFARE_OFFICER: "权益保障组",
    Role.STATION_STAFF: "驿站工作人员",
    Role.DRIVER: "货车司机",
    Role.OPERATOR: "运维人员（只读）",
    Role.ADMINISTRATOR: "系统管理员",
}


class Principal(BaseModel):
    """Who is calling: an internal subject id (never a name), a role and a scope."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str = Field(min_length=1)
    role: Role
    # The organisation the principal acts for; None means the whole county.
    org_scope: str | None = None
    driver_id: str | None = None

    @model_validator(mode="after")
    def _driver_knows_own_record(self) -> Principal:
        if self.role is Role.DRIVER and not self.driver_id:
            raise ValueError("a driver principal needs driver_id")
        return self


def token_digest(token: str) -> str:
    """The "sha256:<hex>" form a token table may store instead of the token itself."""
    return DIGEST_PREFIX + hashlib.sha256(token.encode()).hexdigest()


class TokenTable:
    """Maps bearer tokens to principals, keeping only SHA-256 digests of the tokens.

    Keys are tokens or their `token_digest`, so a config file need not hold secrets.
    """

    def __init__(self, principals: Mapping[str, Principal]) -> None:
        self._by_digest: dict[str, Principal] = {}
        for position, (key, principal) in enumerate(principals.items(), start=1):
            # Errors name the entry's position, never the token.
            digest = _key_digest(key, position)
            if digest in self._by_digest:
                raise ValueError(f"token table entry {position} repeats an earlier token")
            self._by_digest[digest] = principal

    @classmethod
    def from_json(cls, text: str) -> TokenTable:
        """Parse `{"<token or sha256:hex>": {"subject": …, "role": …, …}, …}`."""
        try:
            document = json.loads(text, object_pairs_hook=_JsonObject)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ValueError(f"token table is not valid JSON: {exc.msg} ({where})") from None
        if not isinstance(document, _JsonObject):
            raise ValueError("token table must be a JSON object mapping tokens to principals")
        principals: dict[str, Principal] = {}
        for position, (key, value) in enumerate(document, start=1):
            if key in principals:
                raise ValueError(f"token table entry {position} repeats an earlier token")
            principals[key] = _parse_principal(value, position)
        return cls(principals)

    @classmethod
    def from_file(cls, path: str | Path) -> TokenTable:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def authenticate(self, token: str) -> Principal | None:
        # Looking up the digest instead of the token keeps the lookup's timing
        # independent of how much of a guessed token is right, like compare_digest.
        return self._by_digest.get(token_digest(token))

    def __len__(self) -> int:
        return len(self._by_digest)


class TokenFile(TokenTable):
    """A token table read from a file, and read again when the file changes: operators add a driver's
    token without restarting the services. A change that does not parse keeps the previous table
    (and logs why), so a half-saved edit never locks everyone out."""

    RECHECK_SECONDS = 1.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._signature = self._stat()
        super().__init__({})
        self._by_digest = TokenTable.from_file(self.path)._by_digest
        self._checked = time.monotonic()

    def _stat(self) -> tuple[int, int]:
        stat = self.path.stat()
        return stat.st_mtime_ns, stat.st_size

    def authenticate(self, token: str) -> Principal | None:
        now = time.monotonic()
        if now - self._checked >= self.RECHECK_SECONDS:
            self._checked = now
            self._reload_if_changed()
        return super().authenticate(token)

    def _reload_if_changed(self) -> None:
        try:
            signature = self._stat()
            if signature == self._signature:
                return
            table = TokenTable.from_file(self.path)
        except (OSError, ValueError) as exc:
            log.error("token file %s not reloaded, the previous table stays: %s", self.path.name, exc)
            return
        self._signature = signature
        self._by_digest = table._by_digest
        log.info("token file %s reloaded: %d tokens", self.path.name, len(table))


_bearer = HTTPBearer(auto_error=False, description="访问令牌（Authorization: Bearer <token>）")


class TokenRefused(Exception):
    """A bearer token that names no one: `reason` is a code, `message` what the caller is told."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Authenticates(Protocol):
    async def authenticate(self, token: str) -> Principal:
        """The principal the token names, or TokenRefused."""
        ...


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the authenticated caller, or a 401 in the shared error format."""
    if credentials is None:
        raise unauthenticated("请求缺少访问令牌，请在 Authorization 头中提供 Bearer 令牌。", "token_missing")
    authenticator: Authenticates | None = getattr(request.app.state, "authenticator", None)
    if authenticator is None:
        table = getattr(request.app.state, "token_table", None)
        if not isinstance(table, TokenTable):
            raise RuntimeError("the app factory must set app.state.authenticator or app.state.token_table")
        principal = table.authenticate(credentials.credentials)
        if principal is None:
            raise unauthenticated("访问令牌无效或已停用，请联系管理员。", "token_invalid")
        return principal
    try:
        return await authenticator.authenticate(credentials.credentials)
    except TokenRefused as refused:
        raise unauthenticated(refused.message, refused.reason) from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A FastAPI dependency that admits only principals with one of `roles` (else 403)."""
    if not roles:
        raise ValueError("require_roles needs at least one role")
    allowed = frozenset(roles)
    message = "此操作需要以下角色之一：" + "、".join(role.label for role in roles) + "。"

    def principal_with_role(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise ApiError(
                403,
                ErrorCode.FORBIDDEN,
                message,
                details={"required_roles": [str(role) for role in roles]},
            )
        return principal

    return principal_with_role


def unauthenticated(message: str, reason: str) -> ApiError:
    """401 naming the Authorization header and why (`reason`: token_missing, token_expired, …)."""
    return ApiError(
        401,
        ErrorCode.UNAUTHENTICATED,
        message,
        field="Authorization",
        details={"reason": reason},
        headers={"WWW-Authenticate": "Bearer"},
    )


def _key_digest(key: str, position: int) -> str:
    if key.startswith(DIGEST_PREFIX):
        if not _DIGEST.fullmatch(key):
            raise ValueError(f"token table entry {position}: digest must be sha256: + 64 hex")
        return key
    if len(key) < MIN_TOKEN_LENGTH:
        raise ValueError(f"token table entry {position}: token shorter than {MIN_TOKEN_LENGTH} characters")
    return token_digest(key)


class _JsonObject(list[tuple[str, Any]]):
    """A JSON object as its key-value pairs: json.loads would keep only the last of
    two equal keys, silently dropping a token."""


def _parse_principal(value: Any, position: int) -> Principal:
    if isinstance(value, _JsonObject):
        fields = dict(value)
        if len(fields) != len(value):
            raise ValueError(f"token table entry {position} repeats a field")
        value = fields
    try:
        return Principal.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'principal'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"token table entry {position}: {problems}") from None
