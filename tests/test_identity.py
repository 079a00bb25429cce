"""The identity service against the real stack: staff sign in with a password (policy, first-time
change, lockout), drivers with an SMS code (expiry, one use, no enumeration), sessions rotate and are
revoked, the signing key rotates with both keys live, a county's own OIDC issuer is accepted with a
claim mapping and a forged token is not, and every step is an audit record on identity.audit.v1."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from identity_support import ADMIN, ISSUER, Identity, publish_contact
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from notify_support import EventPublisher, SmsProviderServer, _JsonServer, running
from roadbranch_shared.contracts.roster import DriverErased
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually
from roadbranch_shared.topics import IDENTITY_AUDIT

pytestmark = pytest.mark.integration

PASSWORD = "Lvse-daolu-2026"
EXTERNAL = "https://keycloak.county.test/realms/meigu"


class JwksServer(_JsonServer):
    """A county's own OIDC provider, as far as the services see it: its JWKS URL."""

    def __init__(self, keys: KeySet) -> None:
        super().__init__()
        self.keys = keys

    def answer(self, path: str, query: Any, headers: Any, body: Any) -> tuple[int, Any, dict[str, str]]:
        if path != "/protocol/openid-connect/certs":
            return 404, {}, {}
        return 200, self.keys.as_dict(private=False), {}


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsProviderServer]:
    server = SmsProviderServer()
    with running(server):
        yield server


@pytest.fixture(scope="module")
def external_key() -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": "county-1", "alg": "RS256", "use": "sig"}, private=True
    )


@pytest.fixture(scope="module")
def identity(
    stack_info: StackInfo,
    tmp_path_factory: pytest.TempPathFactory,
    sms: SmsProviderServer,
    external_key: RSAKey,
) -> Iterator[Identity]:
    jwks = JwksServer(KeySet([external_key]))
    machine = secrets.token_urlsafe(24)
    mapping = {
        "role": "realm_access.roles",
        "org_scope": "county_org",
        "role_values": {"county-zzb": "org_department"},
    }
    with running(jwks):
        process = Identity(
            stack_info,
            tmp_path_factory.mktemp("identity"),
            sms_url=sms.url,
            env={
                "ROADBRANCH_AUTH_EXTERNAL_ISSUER": EXTERNAL,
                "ROADBRANCH_AUTH_EXTERNAL_JWKS_URL": jwks.url + "/protocol/openid-connect/certs",
                "ROADBRANCH_AUTH_EXTERNAL_CLAIMS": json.dumps(mapping),
                # A machine token in the table, and the table switched off: it must not let anyone in.
                "ROADBRANCH_IDENTITY_TOKENS": json.dumps(
                    {machine: {"subject": "machine-1", "role": "operator"}}
                ),
                "ROADBRANCH_AUTH_TOKEN_TABLE": "false",
            },
            lockout_failures="3",
            code_resend_seconds="0",
        )
        process.machine_token = machine  # type: ignore[attr-defined]
        process.start()
        try:
            yield process
        finally:
            process.stop()


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def field_reasons(response: httpx.Response) -> set[tuple[str, str]]:
    return {(f["field"], f["reason"]) for f in error(response).get("fields", [])}


def test_staff_sign_in_sets_a_password_at_first_and_the_token_names_roles_and_scope(
    identity: Identity,
) -> None:
    admin = identity.admin_token()
    created = identity.call(
        "POST",
        "/v1/accounts",
        admin,
        json={"username": "wangli", "display_name": "王丽", "roles": ["branch_secretary", "instructor"]},
    )
    assert created.status_code == 422
    assert ("body.org_scope", "required_for_role") in field_reasons(created)
    created = identity.call(
        "POST",
        "/v1/accounts",
        admin,
        json={
            "username": "wangli",
            "display_name": "王丽",
            "roles": ["branch_secretary", "instructor"],
            "org_scope": "org_branch_1",
        },
    )
    assert created.status_code == 201, created.text
    again = identity.call(
        "POST",
        "/v1/accounts",
        admin,
        json={"username": "wangli", "display_name": "王", "roles": ["instructor"]},
    )
    assert again.status_code == 409
    assert error(again)["field"] == "body.username"
    temporary = created.json()["temporary_password"]

    first = identity.sign_in("wangli", temporary)
    assert first.status_code == 403
    assert error(first)["code"] == "password_change_required"
    assert error(first)["field"] == "body.new_password"
    weak = identity.sign_in("wangli", temporary, new_password="wangli1234")
    assert weak.status_code == 422
    assert ("body.new_password", "contains_username") in field_reasons(weak)
    short = identity.sign_in("wangli", temporary, new_password="abc1")
    assert ("body.new_password", "too_short") in field_reasons(short)

    done = identity.sign_in("wangli", temporary, new_password=PASSWORD)
    assert done.status_code == 201, done.text
    grant = done.json()
    assert grant["role"] == "branch_secretary"
    assert grant["token_type"] == "Bearer"
    assert identity.sign_in("wangli", temporary).status_code == 401, "the temporary password is spent"

    me = identity.call("GET", "/v1/whoami", grant["access_token"])
    assert me.json() == {
        "subject": grant["account"]["account_id"],
        "role": "branch_secretary",
        "org_scope": "org_branch_1",
        "driver_id": None,
    }
    as_instructor = identity.sign_in("wangli", PASSWORD, role="instructor")
    assert as_instructor.json()["role"] == "instructor"
    not_held = identity.sign_in("wangli", PASSWORD, role="org_department")
    assert not_held.status_code == 403
    assert error(not_held)["field"] == "body.role"
    # The token is no account's name, and the username is in no URL: only ids travel.
    claims = json.loads(_payload(grant["access_token"]))
    assert "wangli" not in json.dumps(claims)
    assert "王丽" not in json.dumps(claims)
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "roadbranch"
    assert claims["exp"] - claims["iat"] == 600


def test_wrong_passwords_lock_the_account_and_a_reset_lifts_it(identity: Identity) -> None:
    staff = identity.staff(["welfare_officer"], PASSWORD)
    username, account_id = staff["username"], staff["account"]["account_id"]
    for _ in range(3):
        wrong = identity.sign_in(username, "Cuowu-mima-000")
        assert wrong.status_code == 401
        assert error(wrong)["reason"] == "credentials_refused"
    locked = identity.sign_in(username, PASSWORD)
    assert locked.status_code == 423, "even the right password"
    assert error(locked)["reason"] == "account_locked"
    # A username no account has locks the same way: a lock tells nobody whether it exists.
    for _ in range(3):
        assert identity.sign_in("nobody-here", "Cuowu-mima-000").status_code == 401
    assert identity.sign_in("nobody-here", "Cuowu-mima-000").status_code == 423

    admin = identity.admin_token()
    reset = identity.call("POST", f"/v1/accounts/{account_id}/password-reset", admin)
    assert reset.status_code == 200
    assert (
        identity.sign_in(
            username, reset.json()["temporary_password"], new_password="Xin-mima-2027a"
        ).status_code
        == 201
    )
    # Disabled: the right password no longer signs in, and refresh tokens out there stop working.
    live = identity.sign_in(username, "Xin-mima-2027a").json()
    assert identity.call("POST", f"/v1/accounts/{account_id}/disable", admin).status_code == 200
    assert error(identity.sign_in(username, "Xin-mima-2027a"))["reason"] == "account_disabled"
    refused = identity.call("POST", "/v1/sessions/refresh", json={"refresh_token": live["refresh_token"]})
    assert refused.status_code == 401
    assert error(refused)["field"] == "body.refresh_token"

    records = identity.audit(admin, subject=account_id)
    kinds = [r["type"].split(".")[-2] for r in records]
    for kind in ("created", "signed_in", "sign_in_failed", "locked", "password_reset", "disabled", "ended"):
        assert kind in kinds, kind
    assert username not in json.dumps(records)


def test_refresh_tokens_rotate_a_reused_one_ends_the_session_and_sign_out_revokes(identity: Identity) -> None:
    staff = identity.staff(["work_group_staff"], PASSWORD)
    first = staff["refresh_token"]
    second = identity.call("POST", "/v1/sessions/refresh", json={"refresh_token": first})
    assert second.status_code == 200, second.text
    # The answer was lost on a bad road: the same token again, within the grace, still works once.
    retried = identity.call("POST", "/v1/sessions/refresh", json={"refresh_token": first})
    assert retried.status_code == 200
    current = retried.json()["refresh_token"]
    assert identity.call("GET", "/v1/whoami", retried.json()["access_token"]).status_code == 200
    not_his = identity.call(
        "POST", "/v1/sessions/sign-out", json={"refresh_token": staff["session_id"] + ".x"}
    )
    assert not_his.status_code == 204, "the same answer, and nothing ended"
    still = identity.call("POST", "/v1/sessions/refresh", json={"refresh_token": current})
    assert still.status_code == 200, "a session id without its secret signs nobody out"
    current = still.json()["refresh_token"]
    out = identity.call("POST", "/v1/sessions/sign-out", json={"refresh_token": current})
    assert out.status_code == 204
    revoked = identity.call("POST", "/v1/sessions/refresh", json={"refresh_token": current})
    assert revoked.status_code == 401
    assert error(revoked)["reason"] == "refresh_refused"
    forged = identity.call(
        "POST", "/v1/sessions/refresh", json={"refresh_token": staff["session_id"] + ".guess"}
    )
    assert forged.status_code == 401


def test_a_refresh_token_shown_after_the_grace_is_taken_as_stolen(
    stack_info: StackInfo, tmp_path: Path
) -> None:
    identity = Identity(stack_info, tmp_path, refresh_grace_seconds="0").start()
    try:
        staff = identity.staff(["work_group_staff"], PASSWORD)
        old = staff["refresh_token"]
        new = identity.call("POST", "/v1/sessions/refresh", json={"refresh_token": old}).json()[
            "refresh_token"
        ]
        time.sleep(1.1)
        reused = identity.call("POST", "/v1/sessions/refresh", json={"refresh_token": old})
        assert reused.status_code == 401
        assert error(reused)["reason"] == "refresh_reused"
        after = identity.call("POST", "/v1/sessions/refresh", json={"refresh_token": new})
        assert after.status_code == 401, "the whole session ended, the thief's copy and the owner's"
    finally:
        identity.stop()


async def _ask_until_sent(
    identity: Identity, sms: SmsProviderServer, phone: str, pause: float = 0.0, within: float = 60
) -> None:
    """Ask for codes until one reaches the phone (identity learns the phone from roster.contact.v1
    a moment after it is published); each ask waits for its own SMS before the next replaces it.
    An ask counts against the phone's limit (5 an hour) even before identity knows the phone, so
    each waits up to 10 s: five asks outlast a minute of lag on a loaded machine."""

    async def sent() -> bool:
        before = len(sms.to(phone))
        await asyncio.sleep(pause)
        assert identity.call("POST", "/v1/driver-codes", json={"phone": phone}).status_code == 202
        for _ in range(100):
            if len(sms.to(phone)) > before:
                return True
            await asyncio.sleep(0.1)
        return False

    await eventually(sent, timeout=within, message="identity to learn the driver's phone and send a code")


def _code_for(sms: SmsProviderServer, phone: str, count: int) -> str:
    def arrived() -> list[Any]:
        return sms.to(phone) if len(sms.to(phone)) >= count else []

    deadline = time.monotonic() + 30
    while not arrived():
        assert time.monotonic() < deadline, "the code's SMS did not arrive"
        time.sleep(0.1)
    text = sms.to(phone)[count - 1].text
    return next(part for part in text.replace("，", " ").split() if part.isdigit() and len(part) == 6)


async def test_a_driver_signs_in_with_a_code_once_and_an_unknown_phone_gets_the_same_answer(
    identity: Identity, sms: SmsProviderServer, stack_info: StackInfo
) -> None:
    driver_id, phone = f"drv_{secrets.token_hex(4)}", f"139{secrets.randbelow(10**8):08d}"
    await publish_contact(stack_info, driver_id, phone)

    await _ask_until_sent(identity, sms, phone)
    code = _code_for(sms, phone, len(sms.to(phone)))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = identity.call("POST", "/v1/driver-sessions", json={"phone": phone, "code": wrong})
    assert refused.status_code == 401
    assert error(refused)["field"] == "body.code"
    signed = identity.call(
        "POST", "/v1/driver-sessions", json={"phone": f"+86 {phone[:3]}-{phone[3:]}", "code": code}
    )
    assert signed.status_code == 201, signed.text
    assert identity.call("GET", "/v1/whoami", signed.json()["access_token"]).json()["driver_id"] == driver_id
    reused = identity.call("POST", "/v1/driver-sessions", json={"phone": phone, "code": code})
    assert reused.status_code == 401, "a code signs in once"
    assert error(reused) == error(refused)

    unknown = f"137{secrets.randbelow(10**8):08d}"
    asked_unknown = identity.call("POST", "/v1/driver-codes", json={"phone": unknown})
    asked_known = identity.call("POST", "/v1/driver-codes", json={"phone": phone})
    assert asked_unknown.status_code == asked_known.status_code == 202
    assert asked_unknown.json() == asked_known.json()
    guessed = identity.call("POST", "/v1/driver-sessions", json={"phone": unknown, "code": "123456"})
    assert guessed.status_code == 401
    assert error(guessed) == error(refused), "no account enumeration"
    assert sms.to(unknown) == []

    bad = identity.call("POST", "/v1/driver-codes", json={"phone": "12345"})
    assert bad.status_code == 422
    assert ("body.phone", "format") in field_reasons(bad)
    bad_code = identity.call("POST", "/v1/driver-sessions", json={"phone": phone, "code": "12ab56"})
    assert bad_code.status_code == 422
    assert error(bad_code)["fields"][0]["field"] == "body.code"

    # Nothing of the phone or the code is on the audit topic or in the audit trail.
    audit_text = json.dumps(identity.audit(identity.admin_token()))
    assert phone not in audit_text
    assert code not in audit_text
    assert phone not in identity.process.logs()
    assert code not in identity.process.logs()
    assert await _topic_text(stack_info, phone, code) == ""

    # Erased in roster: no more sign-in, and his sessions end.
    async with EventPublisher(stack_info.kafka_bootstrap, source="/roster") as events:
        await events.publish(DriverErased(driver_id=driver_id, erased_at=datetime.now(UTC)), driver_id)

    async def ended() -> bool:
        again = identity.call(
            "POST", "/v1/sessions/refresh", json={"refresh_token": signed.json()["refresh_token"]}
        )
        return again.status_code == 401

    await eventually(ended, timeout=60, message="the erased driver's session to end")


async def test_of_two_drivers_with_one_phone_the_numbers_newest_record_signs_in(
    identity: Identity, sms: SmsProviderServer, stack_info: StackInfo
) -> None:
    """A number given up and taken by another driver, or one driver registered again: the record
    roster changed last holds it."""
    phone = f"139{secrets.randbelow(10**8):08d}"
    older, newer = f"drv_{secrets.token_hex(4)}", f"drv_{secrets.token_hex(4)}"
    await publish_contact(stack_info, older, phone)
    await asyncio.sleep(0.05)
    await publish_contact(stack_info, newer, phone)

    async def signs_in() -> str | None:
        await _ask_until_sent(identity, sms, phone)
        code = _code_for(sms, phone, len(sms.to(phone)))
        signed = identity.call("POST", "/v1/driver-sessions", json={"phone": phone, "code": code})
        assert signed.status_code == 201, signed.text
        who = identity.call("GET", "/v1/whoami", signed.json()["access_token"]).json()["driver_id"]
        return who if who == newer else None

    # Identity may have learned only the older record at the first ask: ask again until both are in.
    assert await eventually(signs_in, timeout=60, message="the newer record to sign in") == newer


async def _topic_text(stack_info: StackInfo, *secrets_: str) -> str:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        IDENTITY_AUDIT.name,
        bootstrap_servers=stack_info.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=3000)
        texts = [m.value.decode() for records in batches.values() for m in records if m.value]
    finally:
        await consumer.stop()
    assert texts, "the audit records reached identity.audit.v1"
    return "".join(t for t in texts if any(s in t for s in secrets_))


def test_codes_are_limited_per_phone_and_expire(
    stack_info: StackInfo, tmp_path: Path, sms: SmsProviderServer
) -> None:
    identity = Identity(
        stack_info, tmp_path, sms_url=sms.url, code_ttl_seconds="2", codes_per_phone_hour="2"
    ).start()
    try:
        phone = f"136{secrets.randbelow(10**8):08d}"
        first = identity.call("POST", "/v1/driver-codes", json={"phone": phone})
        assert first.status_code == 202
        too_soon = identity.call("POST", "/v1/driver-codes", json={"phone": phone})
        assert too_soon.status_code == 429
        assert error(too_soon)["reason"] == "rate_limited"
        assert int(too_soon.headers["Retry-After"]) >= 1
    finally:
        identity.stop()


async def test_a_code_past_its_five_minutes_is_refused(
    stack_info: StackInfo, tmp_path: Path, sms: SmsProviderServer
) -> None:
    # A fresh identity reads the session's whole contact topic before it knows this phone: asks
    # made meanwhile must not meet the phone's limits (hourly, and one code a minute; tested above),
    # only the expiry is under test.
    identity = Identity(
        stack_info,
        tmp_path,
        sms_url=sms.url,
        code_ttl_seconds="2",
        codes_per_phone_hour="100",
        code_resend_seconds="1",
    ).start()
    try:
        driver_id, phone = f"drv_{secrets.token_hex(4)}", f"135{secrets.randbelow(10**8):08d}"
        await publish_contact(stack_info, driver_id, phone)

        await _ask_until_sent(identity, sms, phone, pause=1.1, within=180)  # past the resend limit
        code = _code_for(sms, phone, len(sms.to(phone)))
        await asyncio.sleep(2.5)
        late = identity.call("POST", "/v1/driver-sessions", json={"phone": phone, "code": code})
        assert late.status_code == 401
        assert error(late)["reason"] == "code_refused"
    finally:
        identity.stop()


def test_key_rotation_keeps_two_keys_live(identity: Identity) -> None:
    admin = identity.admin_token()
    before = identity.call("GET", "/.well-known/jwks.json").json()["keys"]
    rotated = identity.call("POST", "/v1/keys/rotate", admin)
    assert rotated.status_code == 200
    after = identity.call("GET", "/.well-known/jwks.json").json()["keys"]
    assert [k["kid"] for k in after] == [rotated.json()["kid"], before[0]["kid"]]
    assert all("d" not in k for k in after), "no private part is published"
    new_token = identity.admin_token()
    assert json.loads(_header(new_token))["kid"] == rotated.json()["kid"]
    assert identity.call("GET", "/v1/whoami", admin).status_code == 200, "signed by the previous key"
    assert identity.call("GET", "/v1/whoami", new_token).status_code == 200
    identity.call("POST", "/v1/keys/rotate", identity.admin_token())
    retired = identity.call("GET", "/v1/whoami", admin)
    assert retired.status_code == 401, "two rotations later the first key is gone"
    assert (
        identity.call(
            "POST", "/v1/keys/rotate", identity.staff(["operator"], PASSWORD)["access_token"]
        ).status_code
        == 403
    )


def test_a_countys_own_issuer_is_accepted_by_its_mapping_and_a_forged_token_is_refused(
    identity: Identity, external_key: RSAKey
) -> None:
    now = int(time.time())
    claims = {
        "iss": EXTERNAL,
        "aud": "roadbranch",
        "sub": "f3a1-keycloak-user",
        "exp": now + 300,
        "iat": now,
        "realm_access": {"roles": ["offline_access", "county-zzb"]},
        "county_org": "org_county",
    }
    header = {"alg": "RS256", "kid": "county-1"}
    token = jwt.encode(header, claims, external_key)
    me = identity.call("GET", "/v1/whoami", token)
    assert me.status_code == 200, me.text
    assert me.json() == {
        "subject": "ext:f3a1-keycloak-user",
        "role": "org_department",
        "org_scope": "org_county",
        "driver_id": None,
    }
    assert identity.call("GET", "/v1/audit", token).status_code == 200, (
        "the organisation department reads the audit"
    )

    forger = RSAKey.generate_key(2048, parameters={"kid": "county-1"}, private=True)
    forged = identity.call("GET", "/v1/whoami", jwt.encode(header, claims, forger))
    assert forged.status_code == 401
    assert error(forged)["reason"] == "token_invalid"
    expired = identity.call(
        "GET", "/v1/whoami", jwt.encode(header, {**claims, "exp": now - 120}, external_key)
    )
    assert expired.status_code == 401
    assert error(expired)["reason"] == "token_expired"
    other_audience = identity.call(
        "GET", "/v1/whoami", jwt.encode(header, {**claims, "aud": "other"}, external_key)
    )
    assert other_audience.status_code == 401
    as_driver = {**claims, "realm_access": {"roles": ["driver"]}}
    assert identity.call("GET", "/v1/whoami", jwt.encode(header, as_driver, external_key)).status_code == 401
    # Our own issuer's name on a token the county's key signed is still a forgery.
    own_name = jwt.encode(header, {**claims, "iss": ISSUER, "role": "administrator"}, external_key)
    assert identity.call("GET", "/v1/whoami", own_name).status_code == 401
    es = ECKey.generate_key("P-256", private=True)
    unsigned_kid = jwt.encode({"alg": "ES256"}, {**claims, "iss": ISSUER}, es)
    assert identity.call("GET", "/v1/whoami", unsigned_kid).status_code == 401


def test_the_token_table_switched_off_admits_no_one_and_errors_name_the_header(identity: Identity) -> None:
    table = identity.call("GET", "/v1/whoami", identity.machine_token)  # type: ignore[attr-defined]
    assert table.status_code == 401
    assert error(table)["field"] == "Authorization"
    missing = identity.call("GET", "/v1/audit")
    assert missing.status_code == 401
    assert error(missing)["reason"] == "token_missing"
    staff = identity.staff(["work_group_staff"], PASSWORD)
    assert identity.call("GET", "/v1/audit", staff["access_token"]).status_code == 403
    assert identity.call("GET", "/v1/accounts", staff["access_token"]).status_code == 403
    listed = identity.call("GET", "/v1/accounts", identity.admin_token())
    assert ADMIN in [a["username"] for a in listed.json()["accounts"]]
    assert "password_hash" not in listed.text


def _part(token: str, index: int) -> str:
    import base64

    part = token.split(".")[index]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


def _payload(token: str) -> str:
    return _part(token, 1)


def _header(token: str) -> str:
    return _part(token, 0)
