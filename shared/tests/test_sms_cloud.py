"""The cloud SMS providers' signatures against the examples their documentation publishes, how their
answers are read, the template map, and the order of the providers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from roadbranch_shared.sms import Outcome, SendResult
from roadbranch_shared.sms_cloud import (
    AliyunSms,
    CloudSmsSettings,
    FailoverSms,
    SmsTemplates,
    TencentSms,
    aliyun_signature,
    percent_encode,
    tencent_authorization,
)

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
TEMPLATES = SmsTemplates.parse({"need_filed": {"aliyun": "SMS_1", "tencent": "101"}})


def test_aliyun_signature_of_the_documented_send_sms_example() -> None:
    """Aliyun's SMS documentation signs this GET with AccessKeySecret `testSecret`."""
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_signature("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert (
        aliyun_signature("GET", {**params, "Signature": "old"}, "testSecret")
        == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    )
    assert aliyun_signature("POST", params, "testSecret") != "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_signature_of_the_documented_rpc_example() -> None:
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


@pytest.mark.parametrize(
    ("value", "encoded"),
    [("a b", "a%20b"), ("*", "%2A"), ("~-_.", "~-_."), ("/=&+", "%2F%3D%26%2B"), ("派", "%E6%B4%BE")],
)
def test_percent_encoding_follows_aliyuns_rules(value: str, encoded: str) -> None:
    assert percent_encode(value) == encoded


def test_tencent_tc3_signature_of_the_documented_example() -> None:
    """Tencent Cloud's Signature v3 documentation: DescribeInstances of cvm at 1551113065."""
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    authorization = tencent_authorization(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
        "Gu5t9xGARNpq86cd98joQYCN3*******",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        payload=payload,
        timestamp=1551113065,
    )
    assert authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


def _aliyun(answer: tuple[int, Any] | Exception, seen: list[httpx.Request] | None = None) -> AliyunSms:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer[0], json=answer[1])

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return AliyunSms(
        client, access_key_id="id", access_key_secret="secret", sign_name="签名", templates=TEMPLATES
    )


def _tencent(answer: Any) -> TencentSms:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=answer)))
    return TencentSms(
        client, secret_id="sid", secret_key="skey", sdk_app_id="1400", sign_name="签名", templates=TEMPLATES
    )


async def _send(sender: Any, template: str = "need_filed") -> SendResult:
    result: SendResult = await sender.send(
        "13900000001",
        "全文",
        key="k",
        at=NOW,
        template=template,
        params={"category": "就医", "need": "000001"},
    )
    return result


@pytest.mark.parametrize(
    ("answer", "outcome", "reason", "recipient"),
    [
        ((200, {"Code": "OK", "BizId": "900001^0"}), Outcome.SENT, "", False),
        (
            (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL"}),
            Outcome.TRANSIENT,
            "aliyun:isv.BUSINESS_LIMIT_CONTROL",
            False,
        ),
        (
            (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL"}),
            Outcome.PERMANENT,
            "aliyun:isv.MOBILE_NUMBER_ILLEGAL",
            True,
        ),
        ((400, {"Code": "SignatureDoesNotMatch"}), Outcome.PERMANENT, "aliyun:SignatureDoesNotMatch", False),
        ((503, {}), Outcome.TRANSIENT, "http_503", False),
        (httpx.ConnectError("down"), Outcome.TRANSIENT, "unreachable", False),
    ],
)
async def test_aliyuns_answers(
    answer: tuple[int, Any] | Exception, outcome: Outcome, reason: str, recipient: bool
) -> None:
    result = await _send(_aliyun(answer))
    assert (result.outcome, result.reason, result.refused_recipient) == (outcome, reason, recipient)
    if outcome is Outcome.SENT:
        assert result.provider_ref == "aliyun:900001^0"


async def test_aliyun_sends_the_template_and_its_variables_signed() -> None:
    seen: list[httpx.Request] = []
    await _send(_aliyun((200, {"Code": "OK", "BizId": "1"}), seen))
    [request] = seen
    fields = dict(httpx.QueryParams(request.content.decode()))
    assert (fields["TemplateCode"], json.loads(fields["TemplateParam"])) == (
        "SMS_1",
        {"category": "就医", "need": "000001"},
    )
    assert fields["Signature"] == aliyun_signature("POST", fields, "secret")
    assert "全文" not in request.content.decode(), "never the free text"


async def test_no_approved_template_is_refused_without_a_request() -> None:
    seen: list[httpx.Request] = []
    result = await _send(_aliyun((200, {"Code": "OK"}), seen), template="need_resolved")
    assert (result.outcome, result.reason, seen) == (Outcome.PERMANENT, "no_template", [])


@pytest.mark.parametrize(
    ("answer", "outcome", "reason", "recipient"),
    [
        ({"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": "2433:1"}]}}, Outcome.SENT, "", False),
        (
            {"Response": {"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberDailyLimit"}]}},
            Outcome.TRANSIENT,
            "tencent:LimitExceeded.PhoneNumberDailyLimit",
            False,
        ),
        (
            {"Response": {"SendStatusSet": [{"Code": "InvalidParameterValue.IncorrectPhoneNumber"}]}},
            Outcome.PERMANENT,
            "tencent:InvalidParameterValue.IncorrectPhoneNumber",
            True,
        ),
        (
            {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure"}}},
            Outcome.PERMANENT,
            "tencent:AuthFailure.SignatureFailure",
            False,
        ),
        (
            {"Response": {"Error": {"Code": "InternalError.Timeout"}}},
            Outcome.TRANSIENT,
            "tencent:InternalError.Timeout",
            False,
        ),
    ],
)
async def test_tencents_answers(answer: Any, outcome: Outcome, reason: str, recipient: bool) -> None:
    result = await _send(_tencent(answer))
    assert (result.outcome, result.reason, result.refused_recipient) == (outcome, reason, recipient)


class _Stub:
    channel = "sms"
    deduplicates = True

    def __init__(self, *results: SendResult) -> None:
        self.results = list(results)
        self.calls = 0

    async def send(self, address: str, text: str, **_: Any) -> SendResult:
        self.calls += 1
        return self.results.pop(0)


async def test_the_next_provider_is_tried_for_a_providers_own_refusal_not_for_the_numbers() -> None:
    busy = SendResult(Outcome.TRANSIENT, "aliyun:isv.BUSINESS_LIMIT_CONTROL")
    sent = SendResult(Outcome.SENT, provider_ref="tencent:1")
    first, second = _Stub(busy), _Stub(sent)
    answers: list[tuple[str, Outcome]] = []
    failover = FailoverSms([first, second], on_answer=lambda name, r: answers.append((name, r.outcome)))
    assert await failover.send("p", "t", key="k", at=NOW) == sent
    assert answers == [("sms", Outcome.TRANSIENT), ("sms", Outcome.SENT)], "each answer told (metrics)"

    bad_number = SendResult(Outcome.PERMANENT, "aliyun:isv.MOBILE_NUMBER_ILLEGAL", refused_recipient=True)
    first, second = _Stub(bad_number), _Stub(sent)
    assert await FailoverSms([first, second]).send("p", "t", key="k", at=NOW) == bad_number
    assert second.calls == 0

    broke = SendResult(Outcome.PERMANENT, "aliyun:isv.AMOUNT_NOT_ENOUGH")
    first, second = _Stub(broke), _Stub(SendResult(Outcome.TRANSIENT, "timeout"))
    both = await FailoverSms([first, second]).send("p", "t", key="k", at=NOW)
    assert (both.outcome, both.reason) == (Outcome.TRANSIENT, "aliyun:isv.AMOUNT_NOT_ENOUGH;timeout")
    assert not FailoverSms([_Stub(), _Stub()]).deduplicates, "a resend may go out through the other"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('["x"]', "must be a JSON object"),
        ('{"need_filed": {}}', "need_filed: give its template code"),
        ('{"need_filed": {"huawei": "1"}}', "unknown provider huawei"),
        ('{"need_filed": {"aliyun": ""}}', "need_filed.aliyun: the template code must be a non-empty string"),
    ],
)
def test_a_bad_template_map_is_refused_naming_the_entry(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SmsTemplates.parse(raw)


def test_a_provider_without_its_credentials_is_refused_naming_them() -> None:
    with pytest.raises(ValueError, match="tencent is among sms_providers but sms_tencent_secret_id"):
        CloudSmsSettings(sms_providers=["tencent"])
    settings = CloudSmsSettings(
        sms_providers=["aliyun"], sms_aliyun_access_key_id="id", sms_aliyun_access_key_secret="s"
    )
    assert settings.sms_providers == ["aliyun"]
