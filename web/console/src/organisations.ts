// The organisation tree (roster's `GET /v1/organisations`), loaded once per page that needs it.
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

export function useOrganisations() {
  const organisations = ref<Organisation[]>([]);
  async function load(): Promise<void> {
    try {
      organisations.value = (await json<{ organisations: Organisation[] }>(await api.raw("roster", "/v1/organisations"))).organisations;
    } catch {
      organisations.value = []; // a role that may not read the tree types the id instead
    }
  }
  const nameOf = (id: string | null | undefined) => organisations.value.find((o) => o.organisation_id === id)?.name ?? id ?? "";
  return { organisations, load, nameOf };
}
