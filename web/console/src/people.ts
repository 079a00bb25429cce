// The names of the people a page lists by id (meeting invitees, seat holders, pairs): member drivers
// as the roster shows them, masked (张*三). Read a page of members once per sign-in, for a branch
// secretary his branch's; an id the roster does not answer for (staff, or a role that may not read
// members) is shown as it is.
import { json } from "@roadbranch/api";
import { reactive } from "vue";
import { api } from "./api";
import { auth } from "./auth";

export interface MemberDriver { driver_id: string; name: string; phone: string; plate: string }
export interface MemberCase {
  member_id: string; driver_id: string; status: string; branch_id?: string | null; group_id?: string | null;
  driver: MemberDriver | null; lost_contact?: { raised_at: string } | null; transfers?: unknown[];
}

const names = reactive(new Map<string, string>());
let loading: Promise<void> | null = null;

/** Every page of verified members (a county's are a few hundred), for a secretary his branch's. */
export async function verifiedMembers(extra: Record<string, string> = {}): Promise<MemberCase[]> {
  const found: MemberCase[] = [];
  let after = "";
  for (;;) {
    const query = new URLSearchParams({ status: "verified", limit: "500", ...extra });
    if (auth.me?.role === "branch_secretary" && auth.me.org_scope && !query.has("branch_id")) query.set("branch_id", auth.me.org_scope);
    if (after) query.set("after", after);
    const page = (await json<{ members: MemberCase[] }>(await api.raw("roster", `/v1/members?${query}`))).members;
    found.push(...page);
    if (page.length < 500) return found;
    after = page[page.length - 1].member_id;
  }
}

async function fetchNames(): Promise<void> {
  try {
    for (const m of await verifiedMembers()) if (m.driver) names.set(m.driver_id, m.driver.name);
  } catch {
    loading = null; // a role that may not read members sees ids; a lost signal tries again later
  }
}

/** Read the names once (again with `fresh`, e.g. after a member was placed). */
export function loadPeople(fresh = false): Promise<void> {
  if (fresh || !loading) loading = fetchNames();
  return loading;
}

export function forgetPeople(): void {
  names.clear();
  loading = null;
}

export function personName(id: string | null | undefined): string {
  if (!id) return "";
  return names.get(id) ?? id;
}
