"""The SMS services counties use: Aliyun SMS (阿里云短信服务) and Tencent Cloud SMS (腾讯云短信), each
sending a pre-approved template (短信模板) with its variables, and one in front of the other.

A message reaches them as its template's name in this project (`meeting_reminder`, `sign_in_code`)
and its variables, in the order the project's templates name them; `SmsTemplates` maps each name to
the template code the operator had approved at each provider. A message whose template is not
mapped there is refused as permanent for SMS (reason `no_template`), so notify tries its next
channel; nothing is sent as free text, which the providers do not allow.

Requests are signed as the providers document: Aliyun's RPC signature (HMAC-SHA1 over the sorted,
percent-encoded parameters), Tencent's TC3-HMAC-SHA256 (over the canonical request). The reasons a
send is refused carry the provider's error code and nothing of the phone number or the text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from roadbranch_shared.sms import Outcome, Sender, SendResult, json_object, post_for_outcome

# ------------------------------------------------------------------ the template map


@dataclass(frozen=True)
class SmsTemplate:
    aliyun: str | None = None  # TemplateCode, e.g. SMS_480001
    tencent: str | None = None  # TemplateId, e.g. 2280001


class SmsTemplates:
    """Which approved template each message uses at each provider, from JSON such as
    `{"meeting_reminder": {"aliyun": "SMS_480001", "tencent": "2280001"}}`."""

    def __init__(self, templates: Mapping[str, SmsTemplate]) -> None:
        self.templates = dict(templates)

    @classmethod
    def parse(cls, raw: str | Mapping[str, Any] | None) -> SmsTemplates:
        """Raises ValueError naming the entry and the reason."""
        data: Any = json.loads(raw) if isinstance(raw, str) and raw.strip() else (raw or {})
        if not isinstance(data, Mapping):
            raise ValueError("the SMS templates must be a JSON object: message template → provider codes")
        parsed: dict[str, SmsTemplate] = {}
        for name, codes in data.items():
            if not isinstance(codes, Mapping) or not codes:
                raise ValueError(f"{name}: give its template code at aliyun and/or tencent")
            unknown = set(codes) - {"aliyun", "tencent"}
            if unknown:
                raise ValueError(f"{name}: unknown provider {', '.join(sorted(unknown))} (aliyun, tencent)")
            for provider, code in codes.items():
                if not isinstance(code, str) or not code.strip():
                    raise ValueError(f"{name}.{provider}: the template code must be a non-empty string")
            parsed[str(name)] = SmsTemplate(aliyun=codes.get("aliyun"), tencent=codes.get("tencent"))
        return cls(parsed)

    def code(self, template: str, provider: str) -> str | None:
        entry = self.templates.get(template)
        return getattr(entry, provider) if entry else None


def _refused(provider: str, code: str, *, transient: bool, recipient: bool = False) -> SendResult:
    return SendResult(
        Outcome.TRANSIENT if transient else Outcome.PERMANENT,
        f"{provider}:{code}",
        refused_recipient=recipient,
    )


# ------------------------------------------------------------------ Aliyun


def percent_encode(value: str) -> str:
    """Aliyun's POP encoding: UTF-8, every byte but A-Z a-z 0-9 - _ . ~ as %XX (space is %20)."""
    return quote(value, safe="-_.~")


def aliyun_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    """The RPC signature (SignatureVersion 1.0, HMAC-SHA1) of `params` sent with `method`."""
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Codes that pass with time (flow control, the service busy) and codes about this number alone.
ALIYUN_TRANSIENT = frozenset(
    {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "isp.SYSTEM_ERROR", "ServiceUnavailable"}
)
ALIYUN_RECIPIENT = frozenset({"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"})


def out_id(key: str) -> str:
    """The send's idempotency key as a short external id (OutId, SessionContext): a receipt names
    it, and a delivery's id is longer than the providers keep."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class AliyunSms:
    """`SendSms` (API version 2017-05-25) of Aliyun's dysmsapi: a form POST of the RPC parameters
    with their signature; answered `{"Code": "OK", "BizId": …}` or `{"Code": <error>, …}`."""

    channel = "sms"
    deduplicates = False  # OutId is a label, not an idempotency key
    provider = "aliyun"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        templates: SmsTemplates,
        endpoint: str = "https://dysmsapi.aliyuncs.com",
        region: str = "cn-hangzhou",
    ) -> None:
        self.client = client
        self.url = endpoint.rstrip("/") + "/"
        self.key_id = access_key_id
        self.secret = access_key_secret
        self.sign_name = sign_name
        self.templates = templates
        self.region = region

    def request(
        self, phone: str, code: str, params: Mapping[str, str], *, key: str, at: datetime, nonce: str
    ) -> dict[str, str]:
        """The signed parameters of one send."""
        fields = {
            "AccessKeyId": self.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": out_id(key),
            "PhoneNumbers": phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": code,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        return {**fields, "Signature": aliyun_signature("POST", fields, self.secret)}

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
        code = self.templates.code(template, self.provider)
        if code is None:
            return SendResult(Outcome.PERMANENT, "no_template")
        signed = self.request(
            address, code, params or {}, key=key, at=datetime.now(UTC), nonce=uuid.uuid4().hex
        )
        response = await post_for_outcome(self.client, self.url, body_explains_4xx=True, data=signed)
        if isinstance(response, SendResult):
            return response
        answer = json_object(response)
        result = str(answer.get("Code") or f"http_{response.status_code}")
        if result == "OK":
            return SendResult(Outcome.SENT, provider_ref=f"{self.provider}:{answer.get('BizId') or ''}")
        return _refused(
            self.provider, result, transient=result in ALIYUN_TRANSIENT, recipient=result in ALIYUN_RECIPIENT
        )


# ------------------------------------------------------------------ Tencent


def tencent_authorization(
    secret_id: str,
    secret_key: str,
    *,
    service: str,
    host: str,
    payload: bytes,
    timestamp: int,
    content_type: str = "application/json; charset=utf-8",
) -> str:
    """The `Authorization` header of TC3-HMAC-SHA256 for a POST to `/` of `host`."""
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{day}/{service}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )

    def mac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    signing = mac(mac(mac(f"TC3{secret_key}".encode(), day), service), "tc3_request")
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


TENCENT_TRANSIENT_PREFIXES = ("InternalError", "RequestLimitExceeded", "LimitExceeded", "ResourceUnavailable")
TENCENT_RECIPIENT = frozenset(
    {"InvalidParameterValue.IncorrectPhoneNumber", "UnsupportedOperation.UnsupportedRegion"}
)


class TencentSms:
    """`SendSms` (API version 2021-01-11) of Tencent Cloud SMS: a JSON POST signed with
    TC3-HMAC-SHA256; answered `{"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": …}]}}`,
    or `{"Response": {"Error": {"Code": …}}}` for the request as a whole."""

    channel = "sms"
    deduplicates = False  # SessionContext is a label, not an idempotency key
    provider = "tencent"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        templates: SmsTemplates,
        endpoint: str = "https://sms.tencentcloudapi.com",
        region: str = "ap-guangzhou",
    ) -> None:
        self.client = client
        self.url = endpoint.rstrip("/") + "/"
        self.host = httpx.URL(self.url).netloc.decode()
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.templates = templates
        self.region = region

    def request(
        self, phone: str, code: str, params: Sequence[str], *, key: str, timestamp: int
    ) -> tuple[bytes, dict[str, str]]:
        """The body and the signed headers of one send."""
        body = json.dumps(
            {
                "PhoneNumberSet": [phone if phone.startswith("+") else f"+86{phone}"],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": code,
                "TemplateParamSet": list(params),
                "SessionContext": out_id(key),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": self.region,
            "X-TC-Timestamp": str(timestamp),
            "Authorization": tencent_authorization(
                self.secret_id,
                self.secret_key,
                service="sms",
                host=self.host,
                payload=body,
                timestamp=timestamp,
            ),
        }
        return body, headers

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
        code = self.templates.code(template, self.provider)
        if code is None:
            return SendResult(Outcome.PERMANENT, "no_template")
        timestamp = int(datetime.now(UTC).timestamp())
        body, headers = self.request(
            address, code, list((params or {}).values()), key=key, timestamp=timestamp
        )
        response = await post_for_outcome(
            self.client, self.url, body_explains_4xx=True, content=body, headers=headers
        )
        if isinstance(response, SendResult):
            return response
        answer = json_object(response).get("Response") or {}
        error = answer.get("Error") if isinstance(answer, dict) else None
        if isinstance(error, dict):
            result = str(error.get("Code") or "error")
        else:
            statuses = answer.get("SendStatusSet") if isinstance(answer, dict) else None
            status = statuses[0] if isinstance(statuses, list) and statuses else {}
            result = str(status.get("Code") or f"http_{response.status_code}")
            if result == "Ok":
                return SendResult(
                    Outcome.SENT, provider_ref=f"{self.provider}:{status.get('SerialNo') or ''}"
                )
        return _refused(
            self.provider,
            result,
            transient=result.startswith(TENCENT_TRANSIENT_PREFIXES),
            recipient=result in TENCENT_RECIPIENT,
        )


# ------------------------------------------------------------------ one in front of the other


class FailoverSms:
    """The providers in turn: the next one is tried when one refuses for a reason of its own (flow
    control, an outage, a missing template, a balance run out), not when it refuses the number.
    Transient if any was; the reason names each provider's."""

    channel = "sms"

    def __init__(
        self, providers: Sequence[Sender], *, on_answer: Callable[[str, SendResult], None] | None = None
    ) -> None:
        """`on_answer(provider, result)` is told each provider's answer (metrics)."""
        if not providers:
            raise ValueError("at least one SMS provider")
        self.providers = list(providers)
        self.on_answer = on_answer
        # A send tried again after a crash may go out through another provider than the first time.
        self.deduplicates = len(self.providers) == 1 and self.providers[0].deduplicates

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
        refusals: list[SendResult] = []
        for provider in self.providers:
            result = await provider.send(address, text, key=key, at=at, template=template, params=params)
            if self.on_answer is not None:
                self.on_answer(getattr(provider, "provider", provider.channel), result)
            if result.outcome is Outcome.SENT or result.refused_recipient:
                return result
            refusals.append(result)
        outcome = (
            Outcome.TRANSIENT if any(r.outcome is Outcome.TRANSIENT for r in refusals) else Outcome.PERMANENT
        )
        return SendResult(outcome, ";".join(r.reason for r in refusals))


# ------------------------------------------------------------------ settings


class CloudSmsSettings(BaseModel):
    """The cloud SMS providers' settings, shared by every service that sends SMS (notify, identity):
    `ROADBRANCH_<SERVICE>_SMS_PROVIDERS=["aliyun","tencent"]` tries Aliyun and then Tencent."""

    sms_providers: list[Literal["aliyun", "tencent"]] = Field(
        default=[], description="cloud SMS providers in the order they are tried (aliyun, tencent)"
    )
    sms_templates: str = Field(
        default="{}",
        description='JSON: each message template → its approved template code, {"meeting_reminder": '
        '{"aliyun": "SMS_…", "tencent": "…"}}',
    )
    sms_aliyun_endpoint: str = "https://dysmsapi.aliyuncs.com"
    sms_aliyun_region: str = "cn-hangzhou"
    sms_aliyun_access_key_id: str | None = None
    sms_aliyun_access_key_secret: SecretStr | None = None
    sms_tencent_endpoint: str = "https://sms.tencentcloudapi.com"
    sms_tencent_region: str = "ap-guangzhou"
    sms_tencent_secret_id: str | None = None
    sms_tencent_secret_key: SecretStr | None = None
    sms_tencent_sdk_app_id: str | None = Field(default=None, description="the SMS application's SdkAppId")

    @field_validator("sms_templates")
    @classmethod
    def _templates(cls, value: str) -> str:
        SmsTemplates.parse(value)  # a ValueError names the entry and the reason
        return value

    @model_validator(mode="after")
    def _credentials(self) -> CloudSmsSettings:
        needed = {
            "aliyun": ("sms_aliyun_access_key_id", "sms_aliyun_access_key_secret"),
            "tencent": ("sms_tencent_secret_id", "sms_tencent_secret_key", "sms_tencent_sdk_app_id"),
        }
        for provider in self.sms_providers:
            missing = [name for name in needed[provider] if not getattr(self, name)]
            if missing:
                raise ValueError(f"{provider} is among sms_providers but {', '.join(missing)} is not set")
        return self


def cloud_sms(
    client: httpx.AsyncClient,
    settings: CloudSmsSettings,
    sign_name: str,
    *,
    on_answer: Callable[[str, SendResult], None] | None = None,
) -> FailoverSms | None:
    """The configured cloud providers, one in front of the other; None if none is configured."""
    templates = SmsTemplates.parse(settings.sms_templates)
    providers: list[Sender] = []
    for provider in settings.sms_providers:
        if provider == "aliyun":
            assert settings.sms_aliyun_access_key_id
            assert settings.sms_aliyun_access_key_secret
            providers.append(
                AliyunSms(
                    client,
                    access_key_id=settings.sms_aliyun_access_key_id,
                    access_key_secret=settings.sms_aliyun_access_key_secret.get_secret_value(),
                    sign_name=sign_name,
                    templates=templates,
                    endpoint=settings.sms_aliyun_endpoint,
                    region=settings.sms_aliyun_region,
                )
            )
        else:
            assert settings.sms_tencent_secret_id
            assert settings.sms_tencent_secret_key
            assert settings.sms_tencent_sdk_app_id
            providers.append(
                TencentSms(
                    client,
                    secret_id=settings.sms_tencent_secret_id,
                    secret_key=settings.sms_tencent_secret_key.get_secret_value(),
                    sdk_app_id=settings.sms_tencent_sdk_app_id,
                    sign_name=sign_name,
                    templates=templates,
                    endpoint=settings.sms_tencent_endpoint,
                    region=settings.sms_tencent_region,
                )
            )
    return FailoverSms(providers, on_answer=on_answer) if providers else None
