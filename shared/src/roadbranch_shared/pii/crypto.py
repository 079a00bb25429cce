"""Keys, blind indexes (HMAC-SHA256) and AES-GCM encryption for personal data at rest.

ID numbers and phone numbers are stored only as a blind index (to match and dedupe)
plus an encrypted token (to show or export when a staff member is allowed to).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
_TOKEN_VERSION = "v1"
_PURPOSE = re.compile(r"[a-z0-9_.-]+")


class PiiKeyError(ValueError):
    """A PII key is missing or malformed; the message names the setting."""


class PiiDecryptError(ValueError):
    """A token is malformed, was tampered with, or belongs to another key or record."""


class IndexPurpose:
    """Blind-index purposes used across services, so the same value indexes alike."""

    ID_NUMBER = "id_number"
    PHONE = "phone"
    NAME = "name"  # a name with all whitespace removed, so "张 三" and "张三" index alike


@dataclass(frozen=True, repr=False)
class PiiKeys:
    """The secret keys; construct directly from bytes in tests.

    `contact_key` is the one key shared between services: roster seals the contact points it
    publishes on `roster.contact.v1` with it, and their readers (notify, the sign-in service) open
    them. The other two never leave the service that holds them.
    """

    blind_index_key: bytes
    encryption_key: bytes
    contact_key: bytes | None = None

    def __post_init__(self) -> None:
        for name in ("blind_index_key", "encryption_key"):
            if len(getattr(self, name)) != KEY_BYTES:
                raise PiiKeyError(f"{name} must be {KEY_BYTES} bytes")
        if self.contact_key is not None and len(self.contact_key) != KEY_BYTES:
            raise PiiKeyError(f"contact_key must be {KEY_BYTES} bytes")
        # One leaked key must not also give away another use.
        keys = [self.blind_index_key, self.encryption_key, self.contact_key]
        present = [k for k in keys if k is not None]
        if len({bytes(k) for k in present}) != len(present):
            raise PiiKeyError("blind_index_key, encryption_key and contact_key must be different keys")

    def __repr__(self) -> str:
        return "PiiKeys(<secret>)"

    @classmethod
    def from_env(cls, prefix: str = "ROADBRANCH_PII_", environ: Mapping[str, str] | None = None) -> PiiKeys:
        """Read `<prefix>BLIND_INDEX_KEY`, `<prefix>ENCRYPTION_KEY` and, if set, `<prefix>CONTACT_KEY`
        (base64, 32 bytes)."""
        env = os.environ if environ is None else environ
        contact = env.get(f"{prefix}CONTACT_KEY", "").strip()
        return cls(
            blind_index_key=_decode_key(env, f"{prefix}BLIND_INDEX_KEY"),
            encryption_key=_decode_key(env, f"{prefix}ENCRYPTION_KEY"),
            contact_key=_decode_key(env, f"{prefix}CONTACT_KEY") if contact else None,
        )

    def require_contact_key(self, prefix: str = "ROADBRANCH_PII_") -> bytes:
        """The shared contact-point key; a service that publishes or reads contact points stops
        at start without it, naming the setting."""
        if self.contact_key is None:
            raise PiiKeyError(
                f"{prefix}CONTACT_KEY is not set; roster and the readers of roster.contact.v1 share it "
                "(create one with roadbranch_shared.pii.generate_key())"
            )
        return self.contact_key


def generate_key() -> str:
    """A new random key, base64-encoded, for setup scripts and `.env` files."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def blind_index(keys: PiiKeys, value: str, *, purpose: str) -> str:
    """A keyed, deterministic index (64 hex characters) of an already normalised value.

    Pass the `normalized` value from `validate_id_number` / `validate_phone`: the value
    is hashed exactly as given. `purpose` (see `IndexPurpose`) separates the domains,
    so equal strings indexed for different purposes never collide.
    """
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError("purpose must be non-empty lower-case letters, digits, '_', '.', '-'")
    if not value:
        raise ValueError("an empty value has no blind index")
    # The purpose alphabet excludes NUL, so the message splits back unambiguously.
    message = f"roadbranch-blind-index/v1\x00{purpose}\x00{value}".encode()
    return hmac.new(keys.blind_index_key, message, hashlib.sha256).hexdigest()


def encrypt(keys: PiiKeys, plaintext: str, *, aad: str) -> str:
    """Encrypt to a token "v1.<base64url(nonce + ciphertext)>" bound to `aad`.

    `aad` names the record the value belongs to (e.g. the driver id); decrypting with any
    other `aad` fails, so tokens cannot be swapped between records.
    """
    return _seal(keys.encryption_key, plaintext, aad)


def decrypt(keys: PiiKeys, token: str, *, aad: str) -> str:
    """Reverse `encrypt`; raises PiiDecryptError unless key, token and `aad` all match."""
    return _open(keys.encryption_key, token, aad)


def seal_contact_point(keys: PiiKeys, driver_id: str, field: str, value: str) -> str:
    """A contact point (phone, WeChat id) as it travels on `roster.contact.v1`: sealed with the
    shared contact key and bound to the topic, the driver and the field."""
    return _seal(keys.require_contact_key(), value, _contact_aad(driver_id, field))


def open_contact_point(keys: PiiKeys, driver_id: str, field: str, token: str) -> str:
    """Reverse `seal_contact_point`; PiiDecryptError if it was sealed for another driver or field."""
    return _open(keys.require_contact_key(), token, _contact_aad(driver_id, field))


def _contact_aad(driver_id: str, field: str) -> str:
    return f"roster.contact.v1/{driver_id}/{field}"


def _seal(key: bytes, plaintext: str, aad: str) -> str:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), _aad_bytes(aad))
    return f"{_TOKEN_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def _open(key: bytes, token: str, aad: str) -> str:
    version, _, body = token.partition(".")
    if version != _TOKEN_VERSION:
        raise PiiDecryptError(f"unsupported token version, expected {_TOKEN_VERSION}")
    try:
        raw = base64.urlsafe_b64decode(body.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise PiiDecryptError("token is not valid base64url") from exc
    if len(raw) < _NONCE_BYTES + _TAG_BYTES:
        raise PiiDecryptError("token is too short")
    nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    try:
        plaintext = AESGCM(key).decrypt(nonce, sealed, _aad_bytes(aad))
    except InvalidTag as exc:
        raise PiiDecryptError("token does not decrypt with this key and aad") from exc
    return plaintext.decode()


def _aad_bytes(aad: str) -> bytes:
    if not aad:
        # An empty aad would let the token be moved to any record.
        raise ValueError("aad must name the record the value belongs to")
    return f"{_TOKEN_VERSION}\x00{aad}".encode()


def _decode_key(env: Mapping[str, str], name: str) -> bytes:
    value = env.get(name, "").strip()
    if not value:
        raise PiiKeyError(f"{name} is not set; create one with roadbranch_shared.pii.generate_key()")
    try:
        # Accept both the standard and the URL-safe base64 alphabet.
        key = base64.b64decode(value.translate(str.maketrans("-_", "+/")), validate=True)
    except binascii.Error as exc:
        raise PiiKeyError(f"{name} is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise PiiKeyError(f"{name} must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key
