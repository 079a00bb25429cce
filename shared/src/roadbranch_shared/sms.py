"""The project's SMS channel: an SMS provider's HTTP API, and what a send comes to (sent, transient,
permanent) with a reason that carries no personal data (an HTTP status, a provider's error code).
Notify sends its messages through it, and the identity service its sign-in codes."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import httpx


class Outcome(StrEnum):
    SENT = "sent"
    TRANSIENT = "transient"  # try the same channel again later
    PERMANENT = "permanent"  # this channel will not work for this message: fall back


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    reason: str = ""
    provider_ref: str | None = None
    # The provider refused the number itself (not valid, barred): another SMS provider would too.
    refused_recipient: bool = False


class Sender(Protocol):
    """A channel (an SMS provider, WeChat Work, e-mail, the inbox). `text` is the message as the
    person reads it; `template` (its template's name) and `params` (its variables) are for the SMS
    providers that send approved templates only."""

    channel: str
    # True if a resend of the same message (same key) after a crash cannot reach the person twice.
    deduplicates: bool

    async def send(
        self,
        address: str,
        text: str,
        *,
        key: str,
        at: datetime,
        template: str = "",
        params: Mapping[str, str] | None = None,
    ) -> SendResult: ...


def http_outcome(response: httpx.Response) -> SendResult | None:
    """The outcome an HTTP status alone decides; None when the body must be read."""
    if response.status_code == 429 or response.status_code >= 500:
        return SendResult(Outcome.TRANSIENT, f"http_{response.status_code}")
    if response.status_code >= 400:
        code = ""
        with contextlib.suppress(ValueError, AttributeError):
            code = str(response.json().get("error", {}).get("code", ""))
        return SendResult(Outcome.PERMANENT, f"http_{response.status_code}" + (f":{code}" if code else ""))
    return None


async def post_for_outcome(
    client: httpx.AsyncClient, url: str, *, body_explains_4xx: bool = False, **kwargs: Any
) -> httpx.Response | SendResult:
    """The provider's answer to read, or the outcome already decided (no answer, an HTTP error).
    With `body_explains_4xx` (a provider whose 4xx body carries its own error code) only 429 and
    5xx are decided here and a 4xx answer is left to read."""
    try:
        response = await client.post(url, **kwargs)
    except httpx.TimeoutException:
        return SendResult(Outcome.TRANSIENT, "timeout")
    except httpx.TransportError:
        return SendResult(Outcome.TRANSIENT, "unreachable")
    decided = http_outcome(response)
    if decided is not None and not (body_explains_4xx and decided.outcome is Outcome.PERMANENT):
        return decided
    return response


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; {} for anything else (a provider's error page, no body)."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


class SmsProvider:
    """An SMS provider's HTTP API: `POST {base}/v1/messages` with a bearer key, JSON
    `{"to", "sign", "text"}` and an `Idempotency-Key` header; answers 2xx `{"message_id": …}`.
    A repeated key is answered with the first message's id and sends nothing."""

    channel: str = "sms"

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, api_key: str, sign: str, *, honours_keys: bool
    ) -> None:
        self.client = client
        self.url = base_url.rstrip("/") + "/v1/messages"
        self.api_key = api_key
        self.sign = sign
        self.deduplicates = honours_keys

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
        """Sends `text` as it is (this API takes free text; `template` and `params` are for the
        providers that send approved templates only)."""
        response = await post_for_outcome(
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
