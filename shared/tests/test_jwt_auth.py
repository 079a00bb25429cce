"""Unit tests of JWT verification (no servers): the key set is fetched through a callable here; the
real path, over HTTP from a running identity service, is in tests/test_identity.py and
tests/seed/test_figures.py."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from roadbranch_shared.auth import Role, TokenRefused, TokenTable
from roadbranch_shared.jwt_auth import Authenticator, ClaimMapping, Issuer, Jwks

ISSUER = "https://identity.test"


def key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256"}, private=True)


class Keys:
    def __init__(self, *keys: ECKey) -> None:
        self.keys = list(keys)
        self.fetches = 0

    async def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        return KeySet(self.keys).as_dict(private=False)


def token(signer: ECKey, **claims: Any) -> str:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": "roadbranch", "sub": "acc_1", "exp": now + 60, "role": "org_department"}
    return jwt.encode({"alg": "ES256", "kid": signer.kid}, {**base, **claims}, signer)


def authenticator(
    keys: Keys, *, mapping: ClaimMapping | None = None, table: TokenTable | None = None
) -> Authenticator:
    return Authenticator(
        [Issuer(ISSUER, Jwks(keys, refetch=0), audience="roadbranch", leeway=0, mapping=mapping)], table
    )


async def test_a_token_of_the_issuer_names_its_principal() -> None:
    k1 = key("k1")
    principal = await authenticator(Keys(k1)).authenticate(token(k1, org_scope="org_1"))
    assert (principal.subject, principal.role, principal.org_scope) == ("acc_1", Role.ORG_DEPARTMENT, "org_1")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 10}, "token_expired"),
        ({"aud": "someone-else"}, "token_invalid"),
        ({"iss": "https://elsewhere.test"}, "token_invalid"),
        ({"role": "no_such_role"}, "token_invalid"),
        ({"role": "driver"}, "token_invalid"),  # a driver without driver_id
    ],
)
async def test_refused_tokens_name_the_reason(claims: dict[str, Any], reason: str) -> None:
    k1 = key("k1")
    with pytest.raises(TokenRefused) as refused:
        await authenticator(Keys(k1)).authenticate(token(k1, **claims))
    assert refused.value.reason == reason


async def test_a_key_not_in_the_set_is_forged_and_a_rotated_in_key_is_fetched() -> None:
    k1, k2 = key("k1"), key("k2")
    keys = Keys(k1)
    auth = authenticator(keys)
    await auth.authenticate(token(k1))
    with pytest.raises(TokenRefused):
        await auth.authenticate(token(key("k1")))  # same kid, other key: a forgery
    keys.keys.append(k2)
    before = keys.fetches
    assert (await auth.authenticate(token(k2))).subject == "acc_1"
    assert keys.fetches == before + 1, "the unknown kid made it fetch the set again"


async def test_an_external_issuer_maps_its_claims_and_never_makes_a_driver() -> None:
    k1 = key("kc")
    mapping = ClaimMapping(
        role="realm_access.roles", org_scope="org", role_values={"zzb": Role.ORG_DEPARTMENT}
    )
    auth = authenticator(Keys(k1), mapping=mapping)
    principal = await auth.authenticate(
        token(k1, role=None, realm_access={"roles": ["offline", "zzb"]}, org="o1")
    )
    assert (principal.subject, principal.role, principal.org_scope) == (
        "ext:acc_1",
        Role.ORG_DEPARTMENT,
        "o1",
    )
    with pytest.raises(TokenRefused) as refused:
        await auth.authenticate(token(k1, realm_access={"roles": ["driver", "offline"]}))
    assert refused.value.reason == "token_role_unmapped"


async def test_the_token_table_answers_only_when_on() -> None:
    table = TokenTable.from_json('{"machine-token-0123456789": {"subject": "m", "role": "operator"}}')
    assert (await authenticator(Keys(), table=table).authenticate("machine-token-0123456789")).subject == "m"
    with pytest.raises(TokenRefused):
        await authenticator(Keys(), table=None).authenticate("machine-token-0123456789")
