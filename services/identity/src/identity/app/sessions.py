"""Sessions: a short-lived signed access token and a rotating refresh token.

A refresh token is `<session id>.<secret>`; only the secret's SHA-256 is stored. Each refresh
replaces the secret. The one just replaced still works for `grace` seconds (the phone asked, the
answer was lost on a bad road, the phone asks again); after that, showing it is taken as a stolen
token and ends the session. Sign-out, disabling an account and resetting its password end sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document, update_if

from identity.app.keyring import Keyring


class RefreshRefused(Exception):
    def __init__(self, reason: str, session: Document | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.session = session


@dataclass(frozen=True)
class Grant:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    role: str

    def body(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "session_id": self.session_id,
            "role": self.role,
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Sessions:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        keyring: Keyring,
        *,
        issuer: str,
        audience: str,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        grace: timedelta,
    ) -> None:
        self.sessions = db.sessions
        self.keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.grace = grace

    async def prepare(self) -> None:
        await self.sessions.create_index("subject")

    async def start(self, principal: Document, method: str, now: datetime) -> Grant:
        """A new session for `principal` ({subject, kind, role, roles, org_scope, driver_id})."""
        session_id = f"ses_{uuid.uuid4().hex}"
        secret = secrets.token_urlsafe(32)
        await self.sessions.insert_one(
            {
                "_id": session_id,
                **principal,
                "method": method,
                "secret": _digest(secret),
                "previous": None,
                "rotated_at": None,
                "created_at": now,
                "expires_at": now + self.refresh_ttl,
                "ended_at": None,
                "version": 0,
            }
        )
        return await self._grant(principal, session_id, secret, now)

    async def refresh(self, token: str, now: datetime) -> tuple[Document, str]:
        """The session the token belongs to, with its new secret; RefreshRefused otherwise."""
        session_id, _, secret = token.partition(".")
        session = await self.sessions.find_one({"_id": session_id}) if secret else None
        if session is None:
            raise RefreshRefused("refresh_refused")
        if session["ended_at"] is not None or session["expires_at"] <= now:
            raise RefreshRefused("refresh_refused", session)
        shown = _digest(secret)
        if hmac.compare_digest(shown, session["secret"]):
            condition: Document = {"secret": session["secret"]}
            previous = session["secret"]
        elif (
            session["previous"] is not None
            and hmac.compare_digest(shown, session["previous"])
            and session["rotated_at"] is not None
            and now - session["rotated_at"] <= self.grace
        ):
            # The answer to the last refresh was lost: answer again, replacing the secret once more.
            condition = {"secret": session["secret"]}
            previous = session["previous"]
        elif session["previous"] is not None and hmac.compare_digest(shown, session["previous"]):
            await self.end(session_id, "refresh_reused", now)
            raise RefreshRefused("refresh_reused", session)
        else:
            raise RefreshRefused("refresh_refused", session)
        fresh = secrets.token_urlsafe(32)
        update = {
            "$set": {
                "secret": _digest(fresh),
                "previous": previous,
                "rotated_at": now,
                "expires_at": now + self.refresh_ttl,
                "version": session["version"] + 1,
            }
        }
        if not await update_if(self.sessions, session_id, condition, update):
            raise RefreshRefused("refresh_refused", session)  # a concurrent refresh won
        return session, fresh

    async def reissue(self, session: Document, secret: str, principal: Document, now: datetime) -> Grant:
        """The access token for a refreshed session, with the principal as it stands now."""
        if principal.get("role") != session.get("role"):
            await self.sessions.update_one({"_id": session["_id"]}, {"$set": {"role": principal["role"]}})
        return await self._grant(principal, session["_id"], secret, now)

    async def holder(self, token: str) -> Document | None:
        """The live session a refresh token (its current secret, or the one just replaced) names."""
        session_id, _, secret = token.partition(".")
        session = await self.sessions.find_one({"_id": session_id}) if secret else None
        if session is None or session["ended_at"] is not None:
            return None
        shown = _digest(secret)
        known = [session["secret"], *([session["previous"]] if session["previous"] else [])]
        return session if any(hmac.compare_digest(shown, k) for k in known) else None

    async def end(self, session_id: str, reason: str, now: datetime) -> Document | None:
        session = await self.sessions.find_one({"_id": session_id})
        if session is None or session["ended_at"] is not None:
            return None
        await self.sessions.update_one(
            {"_id": session_id, "ended_at": None}, {"$set": {"ended_at": now, "ended_reason": reason}}
        )
        return session

    async def end_all(self, subject: str, reason: str, now: datetime) -> list[str]:
        live = await self.sessions.find({"subject": subject, "ended_at": None}, {"_id": 1}).to_list(None)
        ids = [s["_id"] for s in live]
        if ids:
            await self.sessions.update_many(
                {"_id": {"$in": ids}, "ended_at": None}, {"$set": {"ended_at": now, "ended_reason": reason}}
            )
        return ids

    async def _grant(self, principal: Document, session_id: str, secret: str, now: datetime) -> Grant:
        claims: Document = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": principal["subject"],
            "iat": int(now.timestamp()),
            "exp": int((now + self.access_ttl).timestamp()),
            "jti": uuid.uuid4().hex,
            "sid": session_id,
            "role": principal["role"],
            "amr": ["otp"] if principal["kind"] == "driver" else ["pwd"],
        }
        for name in ("org_scope", "driver_id"):
            if principal.get(name):
                claims[name] = principal[name]
        if principal.get("roles"):
            claims["roles"] = principal["roles"]
        token = await self.keyring.sign(claims)
        return Grant(
            access_token=token,
            refresh_token=f"{session_id}.{secret}",
            expires_in=int(self.access_ttl.total_seconds()),
            session_id=session_id,
            role=principal["role"],
        )
