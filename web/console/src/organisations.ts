// The organisation tree (roster's `GET /v1/organisations`), read once per sign-in and shared by the
// pages that pick or name an organisation; the tree page and a page that changed it reload it.
import { json } from "@roadbranch/api";
import { ref } from "vue";
import { api } from "./api";

export interface Organisation {
  organisation_id: string;
  kind: string;
  name: string;
  parent_id: string | null;
  members: number;
}

const organisations = ref<Organisation[]>([]);
let loading: Promise<void> | null = null;

async function fetchTree(): Promise<void> {
  try {
    organisations.value = (await json<{ organisations: Organisation[] }>(await api.raw("roster", "/v1/organisations"))).organisations;
  } catch {
    organisations.value = []; // a role that may not read the tree types the id instead
    loading = null; // and a later page tries again (the signal may have been out)
  }
}

/** Forget the tree (at sign-out: the next person may see another part of it). */
export function forgetOrganisations(): void {
  organisations.value = [];
  loading = null;
}

export function useOrganisations() {
  /** The tree, from the network only the first time (or every time with `fresh`). */
  function load(fresh = false): Promise<void> {
    if (fresh || !loading) loading = fetchTree();
    return loading;
  }
  const nameOf = (id: string | null | undefined) => organisations.value.find((o) => o.organisation_id === id)?.name ?? id ?? "";
  return { organisations, load, nameOf };
}
