"""Drivers sign in with the phone number roster knows for them and a one-time code by SMS.

The view of roster.contact.v1 keeps, per driver, only the blind index of his phone (this service's
own key), so a phone number is never stored here. A code is 6 digits, good for `ttl`, hashed with
a keyed HMAC, spent on first use or after `attempts` wrong tries. Asking for a code for a phone
roster does not know gets the same answer, after the same work, as for one it knows.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.pii import IndexPurpose, PiiKeys, blind_index
from roadbranch_shared.sms import Outcome, Sender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodePolicy:
    ttl: timedelta
    attempts: int
    resend: timedelta
    per_phone_hour: int
    per_address_hour: int


# The sign-in code's message template: ${code} and ${minutes} at Aliyun, {1} and {2} at Tencent.
SIGN_IN_CODE = "sign_in_code"


def code_text(code: str, minutes: int) -> str:
    return f"您的登录验证码是 {code}，{minutes} 分钟内有效。如非本人操作，请忽略本短信，切勿告诉他人。"


class DriverSignIn:
    def __init__(self, db: AsyncDatabase[Document], pii: PiiKeys, sms: Sender | None, policy: CodePolicy):
        self.drivers = db.drivers
        self.codes = db.sign_in_codes
        self.pii = pii
        self.sms = sms
        self.policy = policy
        self._sending: set[asyncio.Task[None]] = set()

    async def prepare(self) -> None:
        await self.drivers.create_index("phone_index")

    def phone_index(self, phone: str) -> str:
        return blind_index(self.pii, phone, purpose=IndexPurpose.PHONE)

    # ---- the view of roster.contact.v1

    async def contact_changed(
        self, driver_id: str, phone: str | None, seq: int, changed_at: datetime
    ) -> None:
        """Keep the driver's phone index as of `seq`. `changed_at` (when roster changed it) decides
        which of two drivers with one number signs in: the number's newest record (a number given
        up and taken by someone else, or a driver registered again), whatever order the events
        came in."""
        newer = {"$or": [{"seq": {"$exists": False}}, {"seq": {"$lt": seq}}], "erased": {"$ne": True}}
        index = self.phone_index(phone) if phone else None
        update = {"$set": {"phone_index": index, "seq": seq, "changed_at": changed_at}}
        if not await update_if(self.drivers, driver_id, newer, update):
            existing = await self.drivers.find_one({"_id": driver_id}, {"_id": 1})
            if existing is None:
                await self.drivers.update_one({"_id": driver_id}, update, upsert=True)

    async def erase(self, driver_id: str) -> None:
        await self.drivers.update_one(
            {"_id": driver_id}, {"$set": {"erased": True, "phone_index": None}}, upsert=True
        )
        await self.codes.delete_many({"driver_id": driver_id})

    async def knows(self, driver_id: str) -> bool:
        driver = await self.drivers.find_one({"_id": driver_id})
        return driver is not None and not driver.get("erased") and driver.get("phone_index") is not None

    # ---- codes

    async def send_code(self, phone: str, now: datetime) -> None:
        """Make and send a code if roster knows the phone (the caller has passed the rate limits)."""
        index = self.phone_index(phone)
        driver = await self.drivers.find_one(
            {"phone_index": index, "erased": {"$ne": True}}, sort=[("changed_at", -1)]
        )
        code = f"{secrets.randbelow(10**6):06d}"
        nonce = secrets.token_hex(8)
        # An unknown phone gets a code entry too (that no code opens), so both cost the same.
        await self.codes.replace_one(
            {"_id": index},
            {
                "_id": index,
                "driver_id": driver["_id"] if driver else None,
                "nonce": nonce,
                "digest": self._digest(index, nonce, code),
                "expires_at": now + self.policy.ttl,
                "tries": 0,
                "used": False,
            },
            upsert=True,
        )
        if driver is None:
            return
        if self.sms is None:
            log.error("a sign-in code was asked for but no SMS provider is configured")
            return
        # Sent in the background: the answer does not wait for the provider, so its timing tells
        # nobody whether the phone is known.
        task = asyncio.create_task(self._send(phone, code, f"otp:{index[:16]}:{nonce}", now))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, phone: str, code: str, key: str, now: datetime) -> None:
        assert self.sms is not None
        minutes = max(1, int(self.policy.ttl.total_seconds() // 60))
        for attempt in range(3):
            result = await self.sms.send(
                phone,
                code_text(code, minutes),
                key=key,
                at=now,
                template=SIGN_IN_CODE,
                params={"code": code, "minutes": str(minutes)},
            )
            if result.outcome is Outcome.SENT:
                return
            log.warning("sign-in code not sent (%s), attempt %d", result.reason, attempt + 1)
            if result.outcome is Outcome.PERMANENT:
                return
            await asyncio.sleep(2**attempt)

    async def check_code(self, phone: str, code: str, now: datetime) -> str | None:
        """The driver the code signs in, spending it; None if it is wrong, spent or out of date."""
        index = self.phone_index(phone)
        entry = await self.codes.find_one({"_id": index})
        if (
            entry is None
            or entry["used"]
            or entry["expires_at"] <= now
            or entry["tries"] >= self.policy.attempts
        ):
            return None
        right = hmac.compare_digest(entry["digest"], self._digest(index, entry["nonce"], code))
        if not right or entry["driver_id"] is None:
            await self.codes.update_one({"_id": index, "nonce": entry["nonce"]}, {"$inc": {"tries": 1}})
            return None
        # One use: of two requests with the same code, only the one whose write lands signs in.
        spent = await update_if(
            self.codes,
            index,
            {"nonce": entry["nonce"], "used": False},
            {"$set": {"used": True, "used_at": now}},
        )
        if not spent or not await self.knows(entry["driver_id"]):
            return None
        return str(entry["driver_id"])

    def _digest(self, index: str, nonce: str, code: str) -> str:
        return blind_index(self.pii, f"{index}:{nonce}:{code}", purpose="identity.sign_in_code")

    async def close(self) -> None:
        for task in list(self._sending):
            task.cancel()
