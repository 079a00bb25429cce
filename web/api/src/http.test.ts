import { describe, expect, it } from "vitest";
import { ApiProblem } from "./errors";
import { Api, json, unwrap } from "./http";
import { SessionStore, memoryStore, type Grant } from "./session";

const grant = (n: number, expires_in = 600): Grant => ({
  access_token: `access-${n}`,
  refresh_token: `refresh-${n}`,
  expires_in,
  session_id: "ses_1",
  role: "work_group_staff",
});

/** A gateway that accepts only the latest access token and counts the renewals. */
function gateway(options: { refuseRefresh?: boolean } = {}) {
  let current = 1;
  const seen: string[] = [];
  const fetch = async (input: RequestInfo | URL): Promise<Response> => {
    const request = input as Request;
    const url = new URL(request.url);
    seen.push(`${request.method} ${url.pathname} ${request.headers.get("Authorization") ?? "-"}`);
    if (url.pathname === "/api/identity/v1/sessions/refresh") {
      const body = await request.json();
      if (options.refuseRefresh || body.refresh_token !== `refresh-${current}`)
        return new Response(JSON.stringify({ error: { code: "unauthenticated", message: "登录已过期" } }), { status: 401, headers: { "content-type": "application/json" } });
      current += 1;
      await new Promise((r) => setTimeout(r, 5));
      return new Response(JSON.stringify(grant(current)), { status: 200, headers: { "content-type": "application/json" } });
    }
    if (request.headers.get("Authorization") !== `Bearer access-${current}`)
      return new Response(JSON.stringify({ error: { code: "unauthenticated", message: "请先登录" } }), { status: 401, headers: { "content-type": "application/json" } });
    const body = request.method === "POST" ? await request.text() : "";
    return new Response(JSON.stringify({ ok: true, path: url.pathname, body }), { status: 200, headers: { "content-type": "application/json" } });
  };
  return { fetch, seen, rotate: () => (current += 1) };
}

function apiWith(fake: ReturnType<typeof gateway>, now = () => 0) {
  const sessions = new SessionStore(memoryStore(), now);
  sessions.save(grant(1));
  let signedOut = 0;
  const api = new Api({ sessions, fetch: fake.fetch as typeof fetch, onSignedOut: () => void (signedOut += 1) });
  return { api, sessions, signedOut: () => signedOut };
}

describe("Api", () => {
  it("sends the access token to the service's path behind the gateway", async () => {
    const fake = gateway();
    const { api } = apiWith(fake);
    const answer = await unwrap(api.clients.welfare.GET("/v1/needs", { params: { query: { limit: 5 } } }));
    expect(answer).toMatchObject({ path: "/api/welfare/v1/needs" });
    expect(fake.seen).toEqual(["GET /api/welfare/v1/needs Bearer access-1"]);
  });

  it("renews a refused token once and repeats the call with its body", async () => {
    const fake = gateway();
    const { api, sessions } = apiWith(fake);
    // The server is at grant 2; the session still sends access-1 but holds the current refresh-2.
    fake.rotate();
    sessions.save({ ...grant(2), access_token: "access-1" });
    const answer = (await unwrap(
      api.clients.welfare.POST("/v1/needs/{need_id}/resolve", { params: { path: { need_id: "n1" } }, body: { summary: "已办" } }),
    )) as { body: string };
    expect(JSON.parse(answer.body)).toEqual({ summary: "已办" });
    expect(sessions.get()?.access_token).toBe("access-3");
    expect(fake.seen.filter((s) => s.includes("/refresh"))).toHaveLength(1);
  });

  it("renews once for many calls waiting at the same time", async () => {
    const fake = gateway();
    let clock = 0;
    const { api } = apiWith(fake, () => clock);
    clock = 10 * 60 * 1000; // past the token's expiry: renew before sending
    await Promise.all([1, 2, 3, 4].map(() => api.raw("roster", "/v1/drivers")));
    expect(fake.seen.filter((s) => s.includes("/refresh"))).toHaveLength(1);
    expect(fake.seen.filter((s) => s.includes("/v1/drivers")).every((s) => s.endsWith("access-2"))).toBe(true);
  });

  it("signs out when the refresh token is refused, and the call's own 401 comes back", async () => {
    const fake = gateway({ refuseRefresh: true });
    const { api, sessions, signedOut } = apiWith(fake);
    fake.rotate();
    const problem = await unwrap(api.clients.roster.GET("/v1/drivers", {})).catch((e) => e);
    expect(problem).toBeInstanceOf(ApiProblem);
    expect((problem as ApiProblem).status).toBe(401);
    expect(sessions.get()).toBeNull();
    expect(signedOut()).toBe(1);
  });

  it("a call without signal is a network problem in Chinese, and the session is kept", async () => {
    const sessions = new SessionStore(memoryStore());
    sessions.save(grant(1));
    const api = new Api({ sessions, fetch: (async () => { throw new TypeError("Failed to fetch"); }) as typeof fetch });
    const problem = await api.raw("roster", "/v1/drivers").catch((e) => e);
    expect((problem as ApiProblem).code).toBe("network");
    expect(sessions.get()).not.toBeNull();
  });

  it("json() throws the shared error of a raw answer", async () => {
    const answer = new Response(JSON.stringify({ error: { code: "invalid", message: "x", fields: [{ field: "value", reason: "format", message: "手机号格式不正确" }] } }), {
      status: 422,
      headers: { "content-type": "application/json" },
    });
    const problem = (await json(answer).catch((e) => e)) as ApiProblem;
    expect(problem.byField).toEqual({ value: "手机号格式不正确" });
  });
});
