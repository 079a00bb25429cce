// What a delivery's `reason` (a code in notify's ledger) means, in words an operator acts on:
// "aliyun:isv.BUSINESS_LIMIT_CONTROL;tencent:…" reads 阿里云短信：发送频率超限；腾讯云短信：…

const PROVIDERS: Record<string, string> = { aliyun: "阿里云短信", tencent: "腾讯云短信" };

// The providers' codes an operator meets most; any other is shown as the provider gave it.
const PROVIDER_CODES: Record<string, string> = {
  "isv.BUSINESS_LIMIT_CONTROL": "发送频率超限",
  "isv.MOBILE_NUMBER_ILLEGAL": "手机号码不正确",
  "isv.MOBILE_COUNT_OVER_LIMIT": "号码数量超限",
  "isv.AMOUNT_NOT_ENOUGH": "账户余额不足",
  "isv.SMS_TEMPLATE_ILLEGAL": "短信模板不存在或未审核通过",
  "isv.SMS_SIGNATURE_ILLEGAL": "短信签名不存在或未审核通过",
  "isv.TEMPLATE_MISSING_PARAMETERS": "模板变量不全",
  SignatureDoesNotMatch: "访问密钥签名不符（检查AccessKey配置）",
  "InvalidAccessKeyId.NotFound": "访问密钥不存在（检查AccessKey配置）",
  "InvalidParameterValue.IncorrectPhoneNumber": "手机号码不正确",
  "FailedOperation.InsufficientBalanceInSmsPackage": "短信套餐包余量不足",
  "FailedOperation.TemplateIncorrectOrUnapproved": "短信模板不存在或未审核通过",
  "FailedOperation.SignatureIncorrectOrUnapproved": "短信签名不存在或未审核通过",
  "AuthFailure.SignatureFailure": "访问密钥签名不符（检查SecretKey配置）",
  "AuthFailure.SecretIdNotFound": "访问密钥不存在（检查SecretId配置）",
};

const CODES: Record<string, string> = {
  no_template: "未配置审核通过的短信模板，未按短信发送",
  timeout: "服务商未及时应答",
  unreachable: "无法连接服务商",
  invalid_user: "企业微信中没有此人",
  token_refused: "企业微信凭证无效（检查应用Secret）",
  smtp_unreachable: "无法连接邮件服务器",
  recipient_refused: "对方拒收",
  recipient_erased: "收件人信息已按申请删除",
  no_contact_point: "没有可用的联系方式",
  no_channel_left: "所有渠道均未送达",
  all_channels_failed: "所有渠道均未送达",
  meeting_cancelled: "会议已取消，不再发送",
  meeting_changed: "会议已变更，不再发送",
};

function one(code: string): string {
  const [head, ...rest] = code.split(":");
  const tail = rest.join(":");
  if (head === "gave_up" && tail) return `多次重试仍未成功：${one(tail)}`;
  if (PROVIDERS[head] && tail) return `${PROVIDERS[head]}：${PROVIDER_CODES[tail] ?? tail}`;
  const http = /^http_(\d{3})/.exec(code);
  if (http) return `服务商返回错误（HTTP ${http[1]}）`;
  return CODES[code] ?? code;
}

/** The ledger's reason in Chinese; each of several (`;`) explained in turn. */
export function explainReason(reason: string | null | undefined): string {
  if (!reason) return "";
  return reason
    .split(";")
    .map((part) => one(part.trim()))
    .join("；");
}
