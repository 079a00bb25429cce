"""Local stand-ins for the two cloud SMS services, checking each request as the real ones do: its
shape, its credentials, its signature (recomputed here from the raw request), its clock, its nonce,
and that it names an approved template with the right variables. What passes is recorded as sent;
`busy` numbers are refused with the provider's flow-control code, `refused` ones as invalid numbers.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from notify_support import _JsonServer
from roadbranch_shared.sms_cloud import aliyun_signature, tencent_authorization


@dataclass
class TemplateSms:
    phone: str
    template: str  # the provider's template code
    params: Any  # Aliyun: {name: value}; Tencent: [value, ...]
    label: str  # OutId / SessionContext


class _CloudSms(_JsonServer):
    def __init__(self, approved: dict[str, list[str]]) -> None:
        """`approved`: template code → the variables it takes, in order."""
        super().__init__()
        self.approved = approved
        self.sent: list[TemplateSms] = []
        self.refusals: list[str] = []  # the codes answered, in order
        self.busy: set[str] = set()
        self.refused: set[str] = set()
        self.nonces: set[str] = set()
        self._ids = itertools.count(1)

    def to(self, phone: str) -> list[TemplateSms]:
        with self.lock:
            return [m for m in self.sent if m.phone == phone]

    def _refuse(self, code: str) -> str:
        self.refusals.append(code)
        return code


def _fresh(moment: datetime) -> bool:
    return abs(datetime.now(UTC) - moment) < timedelta(minutes=15)


class AliyunSmsServer(_CloudSms):
    """dysmsapi's `SendSms` (2017-05-25): a form POST of the RPC parameters, signed with HMAC-SHA1."""

    ACCESS_KEY_ID = "LTAI5tLocalTestKey"
    ACCESS_KEY_SECRET = "local-aliyun-secret"
    SIGN_NAME = "流动党员之家"
    REQUIRED = frozenset(
        {
            "AccessKeyId", "Action", "Format", "PhoneNumbers", "RegionId", "SignName", "SignatureMethod",
            "SignatureNonce", "SignatureVersion", "TemplateCode", "TemplateParam", "Timestamp", "Version",
            "Signature",
        }
    )  # fmt: skip

    def respond(
        self, path: str, query: dict[str, list[str]], headers: Any, raw: bytes | None
    ) -> tuple[int, Any, dict[str, str]]:
        if path != "/" or raw is None:
            return 404, {"Code": "InvalidAction.NotFound"}, {}
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return 400, {"Code": "MissingParameter"}, {}
        fields = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        with self.lock:
            return self._send(fields)

    def _send(self, p: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if missing := self.REQUIRED - p.keys():
            return 400, {"Code": self._refuse(f"MissingParameter.{sorted(missing)[0]}")}, {}
        fixed = {
            "Action": "SendSms", "Version": "2017-05-25", "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0", "Format": "JSON",
        }  # fmt: skip
        if any(p[k] != v for k, v in fixed.items()):
            return 400, {"Code": self._refuse("InvalidParameter")}, {}
        if p["AccessKeyId"] != self.ACCESS_KEY_ID:
            return 404, {"Code": self._refuse("InvalidAccessKeyId.NotFound")}, {}
        if p["Signature"] != aliyun_signature("POST", p, self.ACCESS_KEY_SECRET):
            return 400, {"Code": self._refuse("SignatureDoesNotMatch")}, {}
        if not _fresh(datetime.strptime(p["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)):
            return 400, {"Code": self._refuse("InvalidTimeStamp.Expired")}, {}
        if p["SignatureNonce"] in self.nonces:
            return 400, {"Code": self._refuse("SignatureNonceUsed")}, {}
        self.nonces.add(p["SignatureNonce"])
        if p["SignName"] != self.SIGN_NAME:
            return 200, {"Code": self._refuse("isv.SMS_SIGNATURE_ILLEGAL")}, {}
        variables = self.approved.get(p["TemplateCode"])
        if variables is None:
            return 200, {"Code": self._refuse("isv.SMS_TEMPLATE_ILLEGAL")}, {}
        params = json.loads(p["TemplateParam"])
        if sorted(params) != sorted(variables):
            return 200, {"Code": self._refuse("isv.TEMPLATE_MISSING_PARAMETERS")}, {}
        phone = p["PhoneNumbers"]
        if phone in self.refused or not (len(phone) == 11 and phone.isdigit()):
            return 200, {"Code": self._refuse("isv.MOBILE_NUMBER_ILLEGAL")}, {}
        if phone in self.busy:
            return 200, {"Code": self._refuse("isv.BUSINESS_LIMIT_CONTROL")}, {}
        self.sent.append(TemplateSms(phone, p["TemplateCode"], params, p.get("OutId", "")))
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"9{next(self._ids):05d}^0"}, {}


class TencentSmsServer(_CloudSms):
    """Tencent Cloud's `SendSms` (2021-01-11): a JSON POST signed with TC3-HMAC-SHA256."""

    SECRET_ID = "AKIDLocalTestSecretId"
    SECRET_KEY = "local-tencent-secret-key"
    SDK_APP_ID = "1400000001"
    SIGN_NAME = "流动党员之家"

    def respond(
        self, path: str, query: dict[str, list[str]], headers: Any, raw: bytes | None
    ) -> tuple[int, Any, dict[str, str]]:
        if path != "/" or raw is None:
            return 404, {"Response": {"Error": {"Code": "InvalidAction"}}}, {}
        with self.lock:
            code = self._check(headers, raw)
            if code is not None:
                return 200, {"Response": {"Error": {"Code": self._refuse(code)}, "RequestId": "r"}}, {}
            body = json.loads(raw)
            [number] = body["PhoneNumberSet"]
            phone = number.removeprefix("+86")
            status = "Ok"
            if phone in self.refused or not (len(phone) == 11 and phone.isdigit()):
                status = "InvalidParameterValue.IncorrectPhoneNumber"
            elif phone in self.busy:
                status = "LimitExceeded.PhoneNumberThirtySecondLimit"
            serial = f"2433:{next(self._ids)}"
            if status == "Ok":
                self.sent.append(
                    TemplateSms(phone, body["TemplateId"], body["TemplateParamSet"], body["SessionContext"])
                )
            else:
                self._refuse(status)
            answer = {"SerialNo": serial, "PhoneNumber": number, "Code": status, "Message": status}
            return 200, {"Response": {"SendStatusSet": [answer], "RequestId": "r"}}, {}

    def _check(self, headers: Any, raw: bytes) -> str | None:
        """The error code of a request refused as a whole, or None."""
        wanted = {"X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11"}
        if any(headers.get(k) != v for k, v in wanted.items()) or not headers.get("X-TC-Region"):
            return "MissingParameter"
        content_type = headers.get("Content-Type", "")
        if not content_type.startswith("application/json"):
            return "InvalidParameter"
        timestamp = int(headers.get("X-TC-Timestamp") or 0)
        if not _fresh(datetime.fromtimestamp(timestamp, UTC)):
            return "AuthFailure.SignatureExpire"
        expected = tencent_authorization(
            self.SECRET_ID,
            self.SECRET_KEY,
            service="sms",
            host=headers.get("Host", ""),
            payload=raw,
            timestamp=timestamp,
            content_type=content_type,
        )
        if headers.get("Authorization") != expected:
            return "AuthFailure.SignatureFailure"
        body = json.loads(raw)
        if body.get("SmsSdkAppId") != self.SDK_APP_ID:
            return "InvalidParameterValue.SdkAppIdNotExist"
        if body.get("SignName") != self.SIGN_NAME:
            return "FailedOperation.SignatureIncorrectOrUnapproved"
        variables = self.approved.get(body.get("TemplateId", ""))
        if variables is None:
            return "FailedOperation.TemplateIncorrectOrUnapproved"
        if len(body.get("TemplateParamSet", [])) != len(variables):
            return "InvalidParameterValue.TemplateParameterFormatError"
        if len(body.get("PhoneNumberSet", [])) != 1:
            return "InvalidParameterValue.IncorrectPhoneNumber"
        return None


def cloud_sms_env(
    prefix: str, aliyun: AliyunSmsServer | None, tencent: TencentSmsServer | None, templates: dict[str, Any]
) -> dict[str, str]:
    """A service's settings for the given stand-ins, tried in the order given (Aliyun first)."""
    env = {f"{prefix}_SMS_TEMPLATES": json.dumps(templates), f"{prefix}_SMS_SIGN": AliyunSmsServer.SIGN_NAME}
    providers = []
    if aliyun is not None:
        providers.append("aliyun")
        env |= {
            f"{prefix}_SMS_ALIYUN_ENDPOINT": aliyun.url,
            f"{prefix}_SMS_ALIYUN_ACCESS_KEY_ID": aliyun.ACCESS_KEY_ID,
            f"{prefix}_SMS_ALIYUN_ACCESS_KEY_SECRET": aliyun.ACCESS_KEY_SECRET,
        }
    if tencent is not None:
        providers.append("tencent")
        env |= {
            f"{prefix}_SMS_TENCENT_ENDPOINT": tencent.url,
            f"{prefix}_SMS_TENCENT_SECRET_ID": tencent.SECRET_ID,
            f"{prefix}_SMS_TENCENT_SECRET_KEY": tencent.SECRET_KEY,
            f"{prefix}_SMS_TENCENT_SDK_APP_ID": tencent.SDK_APP_ID,
        }
    env[f"{prefix}_SMS_PROVIDERS"] = json.dumps(providers)
    return env
