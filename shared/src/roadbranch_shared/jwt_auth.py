"""Signed access tokens (JWT) that every service verifies: the identity service's own, and, for
staff, those of a county's own OIDC provider (Keycloak, say) named in the settings.

A bearer token with three dot-separated parts is a JWT: its issuer picks the key set (fetched from
the issuer's JWKS URL, cached, fetched again when a token names a key it does not hold), and the
signature, issuer, audience and expiry are checked with joserfc before its claims become a
`Principal`. Any other bearer token is looked up in the token table, which remains for machine
callers and is switched off with `ROADBRANCH_AUTH_TOKEN_TABLE=false`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from roadbranch_shared.auth import Principal, Role, TokenRefused, TokenTable

log = logging.getLogger(__name__)

ALGORITHMS = ["ES256", "RS256"]


INVALID = TokenRefused("token_invalid", "访问令牌无效或已停用，请重新登录。")
EXPIRED = TokenRefused("token_expired", "登录已过期，请刷新或重新登录。")


class ClaimMapping(BaseModel):
    """Where an external issuer's token carries what a principal needs. `role` is a dotted path
    (Keycloak: "realm_access.roles") to a string or a list; `role_values` maps the issuer's role
    names to roadbranch roles (a name the map lacks is taken as a roadbranch role if it is one)."""

    model_config = ConfigDict(extra="forbid")

    subject: str = "sub"
    role: str = "role"
    org_scope: str | None = "org_scope"
    role_values: dict[str, Role] = Field(default_factory=dict)


class AuthSettings(BaseSettings):
    """`ROADBRANCH_AUTH_*`: the same for every service of one deployment."""

    model_config = SettingsConfigDict(env_prefix="ROADBRANCH_AUTH_", extra="ignore")

    issuer: str | None = Field(default=None, description="the identity service's issuer (its `iss`)")
    jwks_url: str | None = Field(default=None, description="the identity service's JWKS URL")
    audience: str = Field(default="roadbranch", description="the `aud` every access token must carry")
    external_issuer: str | None = Field(default=None, description="a county's own OIDC issuer, for staff")
    external_jwks_url: str | None = None
    external_audience: str | None = Field(default=None, description="defaults to `audience`")
    external_claims: ClaimMapping = Field(default_factory=ClaimMapping)
    token_table: bool = Field(default=True, description="accept the token table's bearer tokens too")
    leeway_seconds: int = Field(default=30, ge=0, le=300, description="clock skew allowed on `exp`")
    jwks_max_age_seconds: float = Field(default=300, gt=0)
    jwks_refetch_seconds: float = Field(
        default=1, ge=0, description="least time between fetches for a key id not yet known"
    )


JwksFetch = Callable[[], Awaitable[Mapping[str, Any]]]


def http_jwks(url: str, client: httpx.AsyncClient) -> JwksFetch:
    async def fetch() -> Mapping[str, Any]:
        response = await client.get(url)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("a JWKS document is an object with a list of keys")
        return document

    return fetch


class Jwks:
    """An issuer's public keys: fetched on first use, again after `max_age`, and again (at most
    every `refetch` seconds) when a token names a key id not among them, which is how a rotated-in
    key is learnt. A failed fetch keeps the keys held before it."""

    def __init__(self, fetch: JwksFetch, *, max_age: float = 300, refetch: float = 5) -> None:
        self.fetch = fetch
        self.max_age = max_age
        self.refetch = refetch
        self._keys: KeySet | None = None
        self._kids: frozenset[str] = frozenset()
        self._fetched = float("-inf")
        self._lock = asyncio.Lock()

    async def keys_for(self, kid: str | None) -> KeySet | None:
        now = time.monotonic()
        stale = now - self._fetched >= self.max_age
        unknown = kid is not None and kid not in self._kids and now - self._fetched >= self.refetch
        if self._keys is None or stale or unknown:
            async with self._lock:
                if time.monotonic() - self._fetched >= min(self.refetch, self.max_age) or self._keys is None:
                    await self._load()
        return self._keys

    async def _load(self) -> None:
        try:
            document = await self.fetch()
            keys = KeySet.import_key_set(dict(document))  # type: ignore[arg-type]
        except Exception as exc:  # unreachable, not JSON, not keys: keep what we had
            log.warning("JWKS not fetched, %s keys kept: %s", len(self._kids), type(exc).__name__)
            self._fetched = time.monotonic()
            return
        self._keys = keys
        self._kids = frozenset(str(k.kid) for k in keys.keys if k.kid)
        self._fetched = time.monotonic()


class Issuer:
    """One issuer whose tokens are accepted: its key set, audience and how its claims map."""

    def __init__(
        self,
        name: str,
        jwks: Jwks,
        *,
        audience: str,
        leeway: int,
        mapping: ClaimMapping | None = None,
    ) -> None:
        self.name = name
        self.jwks = jwks
        self.audience = audience
        self.leeway = leeway
        self.mapping = mapping  # None: the identity service's own claims

    async def verify(self, token: str, kid: str | None) -> Principal:
        keys = await self.jwks.keys_for(kid)
        if keys is None:
            raise TokenRefused("token_keys_unavailable", "暂时无法核验访问令牌，请稍后重试。")
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                leeway=self.leeway,
                iss={"essential": True, "value": self.name},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
                sub={"essential": True},
            )
            registry.validate(decoded.claims)
        except ExpiredTokenError:
            raise EXPIRED from None
        except (JoseError, ValueError):
            raise INVALID from None
        return self.principal(decoded.claims)

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        if self.mapping is None:
            fields = {k: claims.get(k) for k in ("sub", "role", "org_scope", "driver_id")}
            fields["subject"] = fields.pop("sub")
            try:
                return Principal.model_validate({k: v for k, v in fields.items() if v is not None})
            except ValidationError:
                raise INVALID from None
        return _mapped_principal(claims, self.mapping)


def _mapped_principal(claims: Mapping[str, Any], mapping: ClaimMapping) -> Principal:
    subject = _claim(claims, mapping.subject)
    values = _claim(claims, mapping.role)
    names = values if isinstance(values, list) else [values]
    roles = [r for r in (_external_role(name, mapping) for name in names) if r is not None]
    if not isinstance(subject, str) or not subject:
        raise INVALID
    if not roles:
        raise TokenRefused("token_role_unmapped", "您的账号在本系统中没有可用的角色，请联系管理员。")
    scope = _claim(claims, mapping.org_scope) if mapping.org_scope else None
    return Principal(
        subject=f"ext:{subject}", role=roles[0], org_scope=scope if isinstance(scope, str) else None
    )


def _external_role(name: Any, mapping: ClaimMapping) -> Role | None:
    if not isinstance(name, str):
        return None
    role = mapping.role_values.get(name)
    if role is None and name in {r.value for r in Role}:
        role = Role(name)
    # Drivers sign in with the identity service alone: an external token never makes one.
    return None if role is Role.DRIVER else role


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class Authenticator:
    """Turns a bearer token into a principal: a JWT by its issuer, anything else by the token table
    (when it is on). Raises TokenRefused naming why."""

    def __init__(
        self, issuers: list[Issuer], table: TokenTable | None, client: httpx.AsyncClient | None = None
    ) -> None:
        self.issuers = {i.name: i for i in issuers}
        self.table = table
        self._client = client  # the JWKS fetches' client, closed with the authenticator

    @classmethod
    def from_settings(
        cls,
        settings: AuthSettings,
        table: TokenTable | None,
        *,
        own_keys: JwksFetch | None = None,
    ) -> Authenticator:
        """`own_keys` lets the identity service read its key set without an HTTP round trip."""
        client = httpx.AsyncClient(timeout=5)
        issuers: list[Issuer] = []

        def jwks(fetch: JwksFetch) -> Jwks:
            return Jwks(fetch, max_age=settings.jwks_max_age_seconds, refetch=settings.jwks_refetch_seconds)

        if settings.issuer and own_keys is not None:
            # Read in-process for every token (the keyring caches it): a new key is known at once,
            # and a retired one refused at once.
            issuers.append(
                Issuer(
                    settings.issuer,
                    Jwks(own_keys, max_age=0, refetch=0),
                    audience=settings.audience,
                    leeway=settings.leeway_seconds,
                )
            )
        elif settings.issuer and settings.jwks_url:
            issuers.append(
                Issuer(
                    settings.issuer,
                    jwks(http_jwks(settings.jwks_url, client)),
                    audience=settings.audience,
                    leeway=settings.leeway_seconds,
                )
            )
        if settings.external_issuer and settings.external_jwks_url:
            issuers.append(
                Issuer(
                    settings.external_issuer,
                    jwks(http_jwks(settings.external_jwks_url, client)),
                    audience=settings.external_audience or settings.audience,
                    leeway=settings.leeway_seconds,
                    mapping=settings.external_claims,
                )
            )
        return cls(issuers, table if settings.token_table else None, client)

    async def authenticate(self, token: str) -> Principal:
        if token.count(".") == 2:
            return await self._verify_jwt(token)
        principal = self.table.authenticate(token) if self.table is not None else None
        if principal is None:
            raise INVALID
        return principal

    async def _verify_jwt(self, token: str) -> Principal:
        try:
            compact = jws.extract_compact(token.encode("ascii"))
            claims = json.loads(compact.payload)
        except (JoseError, ValueError, UnicodeError):
            raise INVALID from None
        name = claims.get("iss") if isinstance(claims, dict) else None
        issuer = self.issuers.get(name) if isinstance(name, str) else None
        if issuer is None:
            raise INVALID
        kid = compact.headers().get("kid")
        return await issuer.verify(token, kid if isinstance(kid, str) else None)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
