"""The signing keys: ES256 key pairs in one keyring document, private halves sealed with the
service's PII encryption key. Two keys are live: the current one signs, the previous one is still
published so tokens it signed stay good until they expire. Rotation (by an administrator, or every
`key_rotation_days`) makes a new current key and retires the older previous one."""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.pii import PiiKeys, decrypt, encrypt

KEYRING = "keyring"
CACHE_SECONDS = 10.0


class Keyring:
    def __init__(self, db: AsyncDatabase[Document], pii: PiiKeys, *, rotate_after: timedelta) -> None:
        self.keys = db.keys
        self.pii = pii
        self.rotate_after = rotate_after
        self._cached: tuple[float, Document] | None = None
        self._signing: dict[str, ECKey] = {}  # opened private keys by kid: sign-ins do not decrypt each time

    async def prepare(self, now: datetime) -> None:
        if await self.keys.find_one({"_id": KEYRING}, {"_id": 1}) is None:
            with contextlib.suppress(DuplicateKeyError):  # another replica made it first
                await self.keys.insert_one({"_id": KEYRING, "version": 0, "keys": [self._new_key(now)]})

    async def rotate(self, now: datetime) -> str:
        """A new current key; the current one becomes the previous; older ones are dropped."""
        for _ in range(10):
            ring = await self._load(fresh=True)
            fresh = self._new_key(now)
            kept = [dict(k, state="previous") for k in ring["keys"] if k["state"] == "current"]
            applied = await update_if(
                self.keys,
                KEYRING,
                {"version": ring["version"]},
                {"$set": {"keys": [fresh, *kept], "version": ring["version"] + 1}},
            )
            if applied:
                self._cached = None
                return str(fresh["kid"])
        raise RuntimeError("the keyring kept changing under the rotation")

    async def rotate_if_due(self, now: datetime) -> None:
        ring = await self._load(fresh=True)
        current = next(k for k in ring["keys"] if k["state"] == "current")
        if now - current["created_at"] >= self.rotate_after:
            await self.rotate(now)

    async def jwks(self) -> dict[str, Any]:
        ring = await self._load()
        return {"keys": [k["public"] for k in ring["keys"]]}

    async def sign(self, claims: dict[str, Any]) -> str:
        ring = await self._load()
        current = next(k for k in ring["keys"] if k["state"] == "current")
        key = self._signing.get(current["kid"])
        if key is None:
            private = decrypt(self.pii, current["private_sealed"], aad=f"signing-key:{current['kid']}")
            key = self._signing[current["kid"]] = ECKey.import_key(private)
        return jwt.encode({"alg": "ES256", "kid": current["kid"], "typ": "JWT"}, claims, key)

    async def _load(self, *, fresh: bool = False) -> Document:
        now = time.monotonic()
        if not fresh and self._cached is not None and now - self._cached[0] < CACHE_SECONDS:
            return self._cached[1]
        ring = await self.keys.find_one({"_id": KEYRING})
        if ring is None:
            raise RuntimeError("the keyring is made at start-up")
        self._cached = (now, ring)
        return ring

    def _new_key(self, now: datetime) -> Document:
        kid = f"k{now:%Y%m%d}-{uuid.uuid4().hex[:8]}"
        key = ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"}, private=True)
        private = key.as_pem(private=True).decode()
        return {
            "kid": kid,
            "state": "current",
            "created_at": now,
            "public": key.as_dict(private=False),
            "private_sealed": encrypt(self.pii, private, aad=f"signing-key:{kid}"),
        }
