"""The channels' protocols: an SMS provider's HTTP API, WeChat Work application messages, SMTP, and
the in-app inbox. Each turns a send into sent / transient / permanent, naming a reason that carries no
personal data (an HTTP status, a provider's error code), since reasons go into the ledger and events.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.sms import Outcome, SendResult, http_outcome, json_object, post_for_outcome

from notify.domain.channels import Channel

# errcodes of the WeChat Work API that pass with time: system busy, frequency limits.
WECHAT_TRANSIENT = frozenset({-1, 45009, 45033})
# errcodes that mean the access token is no longer good: fetch a new one and send once more.
WECHAT_TOKEN_EXPIRED = frozenset({40014, 42001})


class WeChatWorkApp:
    """WeChat Work application messages to one person (企业微信应用消息), never to a group.

    `GET {api}/cgi-bin/gettoken?corpid=…&corpsecret=…` gives an access token that is kept until a
    minute before its `expires_in`; `POST {api}/cgi-bin/message/send?access_token=…` with
    `{"touser": <his WeChat Work userid>, "msgtype": "text", "agentid": …, "text": {"content": …}}`
    is answered `{"errcode": 0, "invaliduser": ""}`. A user the corp does not know (`invaliduser`
    names him) is a permanent failure of this channel, so notify falls back to the next one. The
    group robot (群机器人) is not a channel: every notice is addressed to one person, and a group post
    would show it to everyone in the group.
    """

    channel: str = Channel.WECHAT
    deduplicates = False

    def __init__(
        self, client: httpx.AsyncClient, api_url: str, corp_id: str, secret: str, agent_id: int
    ) -> None:
        self.client = client
        self.api = api_url.rstrip("/")
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self._token: tuple[str, float] | None = None  # token, monotonic time it stops being used
        self._token_lock = asyncio.Lock()

    async def _access_token(self, *, fresh: bool = False) -> str | SendResult:
        async with self._token_lock:
            if self._token and not fresh and self._token[1] > time.monotonic():
                return self._token[0]
            try:
                response = await self.client.get(
                    f"{self.api}/cgi-bin/gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret}
                )
            except httpx.TimeoutException:
                return SendResult(Outcome.TRANSIENT, "timeout")
            except httpx.TransportError:
                return SendResult(Outcome.TRANSIENT, "unreachable")
            if (decided := http_outcome(response)) is not None:
                return decided
            answer = json_object(response)
            if not answer.get("access_token"):
                errcode = _errcode(answer)
                outcome = Outcome.TRANSIENT if errcode in WECHAT_TRANSIENT else Outcome.PERMANENT
                return SendResult(outcome, f"token_errcode_{errcode}")
            lifetime = float(answer.get("expires_in") or 7200)
            self._token = (str(answer["access_token"]), time.monotonic() + max(lifetime - 60, 0))
            return self._token[0]

    async def send(
        self,
        address: str,
        text: str,
        *,
        key: str,
        at: datetime,
        template: str = "",
        params: Mapping[str, str] | None = None,
    ) -> SendResult:
        body = {"touser": address, "msgtype": "text", "agentid": self.agent_id, "text": {"content": text}}
        for fresh in (False, True):
            token = await self._access_token(fresh=fresh)
            if isinstance(token, SendResult):
                return token
            response = await post_for_outcome(
                self.client, f"{self.api}/cgi-bin/message/send", params={"access_token": token}, json=body
            )
            if isinstance(response, SendResult):
                return response
            answer = json_object(response)
            errcode = _errcode(answer)
            if errcode in WECHAT_TOKEN_EXPIRED and not fresh:
                continue
            if errcode == 0 and not answer.get("invaliduser"):
                return SendResult(Outcome.SENT, provider_ref=str(answer.get("msgid") or "") or None)
            if errcode == 0:
                return SendResult(Outcome.PERMANENT, "invalid_user")
            outcome = Outcome.TRANSIENT if errcode in WECHAT_TRANSIENT else Outcome.PERMANENT
            return SendResult(outcome, f"errcode_{errcode}")
        return SendResult(Outcome.TRANSIENT, "token_refused")


def _errcode(answer: dict[str, Any]) -> int:
    """The answer's errcode; -1 (busy, try again) for an answer without one."""
    try:
        return int(answer.get("errcode", -1))
    except (TypeError, ValueError):
        return -1


class SmtpMail:
    """E-mail over SMTP (aiosmtplib). The Message-ID is derived from the delivery key, so a resend
    after a crash is recognisable as the same message by a mail client."""

    channel: str = Channel.EMAIL
    deduplicates = False

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None,
        password: str | None,
        starttls: bool,
        timeout: float,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    async def send(
        self,
        address: str,
        text: str,
        *,
        key: str,
        at: datetime,
        template: str = "",
        params: Mapping[str, str] | None = None,
    ) -> SendResult:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = _subject(text)
        message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@roadbranch.notify>"
        message.set_content(text)
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            return SendResult(Outcome.PERMANENT, "recipient_refused")
        except aiosmtplib.SMTPResponseException as e:
            outcome = Outcome.PERMANENT if 500 <= e.code < 600 else Outcome.TRANSIENT
            return SendResult(outcome, f"smtp_{e.code}")
        except (aiosmtplib.SMTPException, OSError):
            return SendResult(Outcome.TRANSIENT, "smtp_unreachable")
        return SendResult(Outcome.SENT)


def _subject(text: str) -> str:
    """The message's 【heading】 as the subject line."""
    if text.startswith("【") and "】" in text:
        return text[1 : text.index("】")]
    return "通知"


class Inbox:
    """The in-app inbox (站内信): a driver's messages in one document he reads through the API.
    Writing the same message twice changes nothing, so the inbox never holds a duplicate."""

    channel: str = Channel.INBOX
    deduplicates = True

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def send(
        self,
        address: str,
        text: str,
        *,
        key: str,
        at: datetime,
        template: str = "",
        params: Mapping[str, str] | None = None,
    ) -> SendResult:
        message = {"id": key, "text": text, "at": at}
        await update_if(
            self.db.inboxes,
            address,
            {"ids": {"$ne": key}},
            {"$push": {"ids": key, "messages": message}},
            upsert=True,
        )
        return SendResult(Outcome.SENT, provider_ref=key)
