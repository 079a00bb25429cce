// The project-wide error body, `{"error": {"code", "message", "field"?, "fields"?: [...]}}`, as the
// pages show it: the message in Chinese, and each field's message next to the field it names.

export interface FieldProblem {
  field: string;
  reason: string;
  message: string;
}

export const NETWORK_MESSAGE = "网络不通，请检查网络后重试。";
export const SERVER_MESSAGE = "服务暂时不可用，请稍后重试。";

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldProblem[] = [],
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiProblem";
  }

  /** Each named field's message, keyed by the field's name in the form (see `formField`). */
  get byField(): Record<string, string> {
    const found: Record<string, string> = {};
    for (const problem of this.fields) {
      const name = formField(problem.field);
      found[name] = found[name] ? `${found[name]}；${problem.message}` : problem.message;
    }
    return found;
  }
}

/** "body.records.0.status" -> "records.0.status"; "query.period" -> "period"; "phone" -> "phone". */
export function formField(location: string): string {
  return location.replace(/^(body|query|path|header|form)\./, "");
}

/** The problem an answer describes; an answer that is not the shared format still gets a message. */
export function problemOf(status: number, body: unknown): ApiProblem {
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!error || typeof error !== "object") {
    const message = status >= 500 ? SERVER_MESSAGE : `请求未完成（${status}）`;
    return new ApiProblem(status, status >= 500 ? "internal" : "unknown", message);
  }
  const { code, message, field, fields, ...details } = error as {
    code?: string;
    message?: string;
    field?: string;
    fields?: FieldProblem[];
  };
  const listed = Array.isArray(fields) ? [...fields] : [];
  if (typeof field === "string" && !listed.some((f) => f.field === field)) {
    listed.push({ field, reason: String(code ?? ""), message: String(message ?? "") });
  }
  return new ApiProblem(status, String(code ?? "unknown"), String(message ?? SERVER_MESSAGE), listed, details);
}

export function networkProblem(): ApiProblem {
  return new ApiProblem(0, "network", NETWORK_MESSAGE);
}
