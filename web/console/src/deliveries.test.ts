import { describe, expect, it } from "vitest";
import { explainReason } from "./deliveries";

describe("a delivery's reason in words", () => {
  it("names each provider and what its code means, in order", () => {
    expect(explainReason("aliyun:isv.BUSINESS_LIMIT_CONTROL;tencent:LimitExceeded.PhoneNumberDailyLimit")).toBe(
      "阿里云短信：发送频率超限；腾讯云短信：LimitExceeded.PhoneNumberDailyLimit",
    );
    expect(explainReason("aliyun:isv.MOBILE_NUMBER_ILLEGAL")).toBe("阿里云短信：手机号码不正确");
  });

  it("explains the ledger's own codes, retries given up and HTTP errors", () => {
    expect(explainReason("no_template;no_template")).toBe(
      "未配置审核通过的短信模板，未按短信发送；未配置审核通过的短信模板，未按短信发送",
    );
    expect(explainReason("gave_up:http_503")).toBe("多次重试仍未成功：服务商返回错误（HTTP 503）");
    expect(explainReason("invalid_user")).toBe("企业微信中没有此人");
  });

  it("shows what it does not know as it is, and nothing for no reason", () => {
    expect(explainReason("dlv_digest_42")).toBe("dlv_digest_42");
    expect(explainReason(null)).toBe("");
  });
});
