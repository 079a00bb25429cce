import { describe, expect, it } from "vitest";
import { ApiProblem, NETWORK_MESSAGE, SERVER_MESSAGE, formField, networkProblem, problemOf } from "./errors";

describe("problemOf", () => {
  it("keys each field's message by the form's field name", () => {
    const problem = problemOf(422, {
      error: {
        code: "invalid",
        message: "提交的数据有误，请按字段提示修改。",
        fields: [
          { field: "body.starts_at", reason: "missing", message: "必填" },
          { field: "body.records.1.reason", reason: "required", message: "请假须写原因" },
          { field: "query.period", reason: "format", message: "期间格式不对" },
        ],
      },
    });
    expect(problem.status).toBe(422);
    expect(problem.byField).toEqual({ starts_at: "必填", "records.1.reason": "请假须写原因", period: "期间格式不对" });
  });

  it("counts a single `field` of a refused command as that field's problem", () => {
    const problem = problemOf(403, {
      error: { code: "password_change_required", message: "首次登录或密码重置后，请先设置新密码。", field: "body.new_password" },
    });
    expect(problem.code).toBe("password_change_required");
    expect(problem.byField).toEqual({ new_password: "首次登录或密码重置后，请先设置新密码。" });
  });

  it("joins two messages for one field", () => {
    const problem = problemOf(422, {
      error: { code: "invalid", message: "x", fields: [
        { field: "value", reason: "a", message: "太短" },
        { field: "value", reason: "b", message: "格式不对" },
      ] },
    });
    expect(problem.byField.value).toBe("太短；格式不对");
  });

  it("keeps the details beside code and message", () => {
    const problem = problemOf(403, { error: { code: "role_not_held", message: "该账号没有所选角色。", field: "body.role", roles: ["instructor"] } });
    expect(problem.details).toEqual({ roles: ["instructor"] });
  });

  it("gives a Chinese message for an answer that is not the shared format", () => {
    expect(problemOf(502, "<html>Bad Gateway</html>").message).toBe(SERVER_MESSAGE);
    expect(problemOf(404, null).message).toContain("404");
    expect(problemOf(404, null).byField).toEqual({});
  });
});

describe("formField", () => {
  it.each([
    ["body.phone", "phone"],
    ["query.limit", "limit"],
    ["path.meeting_id", "meeting_id"],
    ["value", "value"],
    ["body", "body"],
  ])("%s -> %s", (location, name) => expect(formField(location)).toBe(name));
});

it("a network failure is a problem with a message in Chinese", () => {
  const problem = networkProblem();
  expect(problem).toBeInstanceOf(ApiProblem);
  expect(problem.message).toBe(NETWORK_MESSAGE);
});
