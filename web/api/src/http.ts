// The typed clients of the six services, behind the gateway's one origin (`/api/<service>/`).
// Every call carries the access token; an expired one is renewed once with the refresh token
// (one renewal at a time, however many calls are waiting), and a refused renewal signs out.

import createClient, { type Client } from "openapi-fetch";
import { type ApiProblem, networkProblem, problemOf } from "./errors";
import type { paths as ActivitiesPaths } from "./generated/activities";
import type { paths as BriefingPaths } from "./generated/briefing";
import type { paths as IdentityPaths } from "./generated/identity";
import type { paths as NotifyPaths } from "./generated/notify";
import type { paths as RosterPaths } from "./generated/roster";
import type { paths as WelfarePaths } from "./generated/welfare";
import type { Grant, SessionStore } from "./session";

export interface Clients {
  identity: Client<IdentityPaths>;
  roster: Client<RosterPaths>;
  activities: Client<ActivitiesPaths>;
  welfare: Client<WelfarePaths>;
  notify: Client<NotifyPaths>;
  briefing: Client<BriefingPaths>;
}

export interface ApiOptions {
  sessions: SessionStore;
  /** Where the gateway is: "" for the page's own origin. */
  origin?: string;
  fetch?: typeof fetch;
  /** Told when the session has ended (refresh refused): the page goes to sign-in. */
  onSignedOut?: () => void;
}

export class Api {
  readonly clients: Clients;
  private renewing: Promise<boolean> | null = null;
  private readonly fetcher: typeof fetch;

  constructor(private readonly options: ApiOptions) {
    this.fetcher = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const make = <P extends {}>(service: string) =>
      createClient<P>({ baseUrl: this.base(service), fetch: (request: Request) => this.send(request) });
    this.clients = {
      identity: make<IdentityPaths>("identity"),
      roster: make<RosterPaths>("roster"),
      activities: make<ActivitiesPaths>("activities"),
      welfare: make<WelfarePaths>("welfare"),
      notify: make<NotifyPaths>("notify"),
      briefing: make<BriefingPaths>("briefing"),
    };
  }

  base(service: string): string {
    return `${this.options.origin ?? ""}/api/${service}`;
  }

  /** One call with the token; renews it first when stale, and once more after a 401. */
  async send(request: Request): Promise<Response> {
    const retry = request.clone();
    const session = this.options.sessions.get();
    if (session && this.options.sessions.stale(session)) await this.renew();
    const first = await this.attempt(request);
    if (first.status !== 401 || !this.options.sessions.get()) return first;
    if (!(await this.renew())) return first;
    return this.attempt(retry);
  }

  /** A raw call (downloads, uploads with progress) with the same token handling. */
  async raw(service: string, path: string, init: RequestInit = {}): Promise<Response> {
    return this.send(new Request(`${this.base(service)}${path}`, init));
  }

  private async attempt(request: Request): Promise<Response> {
    const session = this.options.sessions.get();
    if (session) request.headers.set("Authorization", `Bearer ${session.access_token}`);
    try {
      return await this.fetcher(request);
    } catch {
      throw networkProblem();
    }
  }

  /** Renew the access token; false when the session is over (then the person is signed out). */
  renew(): Promise<boolean> {
    this.renewing ??= this.renewOnce().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  private async renewOnce(): Promise<boolean> {
    const session = this.options.sessions.get();
    if (!session) return false;
    let answer: Response;
    try {
      answer = await this.fetcher(
        new Request(`${this.base("identity")}/v1/sessions/refresh`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: session.refresh_token }),
        }),
      );
    } catch {
      throw networkProblem(); // no signal is not the end of the session
    }
    if (answer.ok) {
      this.options.sessions.save((await answer.json()) as Grant);
      return true;
    }
    if (answer.status >= 500) return false;
    this.options.sessions.clear();
    this.options.onSignedOut?.();
    return false;
  }

  async signOut(): Promise<void> {
    const session = this.options.sessions.get();
    this.options.sessions.clear();
    if (!session) return;
    try {
      await this.fetcher(
        new Request(`${this.base("identity")}/v1/sessions/sign-out`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: session.refresh_token }),
        }),
      );
    } catch {
      // Signed out here; the session ends on its own when its refresh token expires.
    }
  }
}

/** An openapi-fetch answer's data, or its problem thrown in the shared shape. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<NonNullable<T>> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw problemOf(response.status, error ?? null);
  return data as NonNullable<T>;
}

/** A raw answer as JSON, or its problem. */
export async function json<T = Record<string, unknown>>(answer: Response): Promise<T> {
  const body = answer.headers.get("content-type")?.includes("json") ? await answer.json() : null;
  if (!answer.ok) throw problemOf(answer.status, body);
  return body as T;
}

export type { ApiProblem };
