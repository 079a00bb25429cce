"""The channels' protocols: an SMS provider's HTTP API, the WeChat Work group robot webhook, SMTP, and
the in-app inbox. Each turns a send into sent / transient / permanent, naming a reason that carries no
personal data (an HTTP status, a provider's error code), since reasons go into the ledger and events.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import httpx
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import update_if

from notify.domain.channels import Channel, Outcome, SendResult

Document = dict[str, Any]


class Sender(Protocol):
    channel: str
    # True if a resend of the same message (same key) after a crash cannot reach the person twice.
    deduplicates: bool

    async def send(self, address: str, text: str, *, key: str, at: datetime) -> SendResult: ...


def _http_outcome(response: httpx.Response) -> SendResult | None:
    """The outcome an HTTP status alone decides; None when the body must be read."""
    if response.status_code == 429 or response.status_code >= 500:
        return SendResult(Outcome.TRANSIENT, f"http_{response.status_code}")
    if response.status_code >= 400:
        code = ""
        with contextlib.suppress(ValueError, AttributeError):
            code = str(response.json().get("error", {}).get("code", ""))
        return SendResult(Outcome.PERMANENT, f"http_{response.status_code}" + (f":{code}" if code else ""))
    return None


async def _post(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response | SendResult:
    """The provider's answer to read, or the outcome already decided (no answer, an HTTP error)."""
    try:
        response = await client.post(url, **kwargs)
    except httpx.TimeoutException:
        return SendResult(Outcome.TRANSIENT, "timeout")
    except httpx.TransportError:
        return SendResult(Outcome.TRANSIENT, "unreachable")
    return _http_outcome(response) or response


class SmsProvider:
    """An SMS provider's HTTP API: `POST {base}/v1/messages` with a bearer key, JSON
    `{"to", "sign", "text"}` and an `Idempotency-Key` header; answers 2xx `{"message_id": …}`.
    A repeated key is answered with the first message's id and sends nothing."""

    channel: str = Channel.SMS

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, api_key: str, sign: str, *, honours_keys: bool
    ) -> None:
        self.client = client
        self.url = base_url.rstrip("/") + "/v1/messages"
        self.api_key = api_key
        self.sign = sign
        self.deduplicates = honours_keys

    async def send(self, address: str, text: str, *, key: str, at: datetime) -> SendResult:
        response = await _post(
            self.client,
            self.url,
            json={"to": address, "sign": self.sign, "text": text},
            headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": key},
        )
        if isinstance(response, SendResult):
            return response
        try:
            ref = str(response.json().get("message_id") or "")
        except ValueError:
            ref = ""
        return SendResult(Outcome.SENT, provider_ref=ref or None)


# errcodes of the WeChat Work API that pass with time: system busy, frequency limits.
WECHAT_TRANSIENT = frozenset({-1, 45009, 45033})


class WeChatWorkRobot:
    """A WeChat Work group robot (群机器人): `POST <webhook>` with
    `{"msgtype": "text", "text": {"content": …, "mentioned_list": [userid]}}`, answered
    `{"errcode": 0, "errmsg": "ok"}`. The message appears in the group, @-mentioning the driver."""

    channel: str = Channel.WECHAT
    deduplicates = False

    def __init__(self, client: httpx.AsyncClient, webhook_url: str) -> None:
        self.client = client
        self.url = webhook_url

    async def send(self, address: str, text: str, *, key: str, at: datetime) -> SendResult:
        body = {"msgtype": "text", "text": {"content": text, "mentioned_list": [address]}}
        response = await _post(self.client, self.url, json=body)
        if isinstance(response, SendResult):
            return response
        try:
            errcode = int(response.json().get("errcode", -1))
        except (ValueError, TypeError, AttributeError):
            return SendResult(Outcome.TRANSIENT, "bad_answer")
        if errcode == 0:
            return SendResult(Outcome.SENT)
        outcome = Outcome.TRANSIENT if errcode in WECHAT_TRANSIENT else Outcome.PERMANENT
        return SendResult(outcome, f"errcode_{errcode}")


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

    async def send(self, address: str, text: str, *, key: str, at: datetime) -> SendResult:
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

    async def send(self, address: str, text: str, *, key: str, at: datetime) -> SendResult:
        message = {"id": key, "text": text, "at": at}
        await update_if(
            self.db.inboxes,
            address,
            {"ids": {"$ne": key}},
            {"$push": {"ids": key, "messages": message}},
            upsert=True,
        )
        return SendResult(Outcome.SENT, provider_ref=key)
