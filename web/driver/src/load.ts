// A GET's data and whether it came from the service worker's cache (no signal), and when that
// answer had arrived.
import { unwrap } from "@roadbranch/api";
import { ref } from "vue";

export interface Loaded<T> {
  data: T;
  /** ms since the epoch of the cached answer, or null for a fresh one. */
  cachedAt: number | null;
}

export async function load<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<Loaded<NonNullable<T>>> {
  const answer = await call;
  const data = await unwrap(Promise.resolve(answer));
  return { data, cachedAt: cachedAt(answer.response) };
}

export function cachedAt(response: Response): number | null {
  if (!response.headers.get("X-Roadbranch-From-Cache")) return null;
  const stored = Number(response.headers.get("X-Roadbranch-Stored-At"));
  return Number.isFinite(stored) && stored > 0 ? stored : 0;
}

/** The oldest cached answer a page shows (null: all fresh). */
export function useStaleness() {
  const at = ref<number | null>(null);
  return {
    at,
    reset: () => (at.value = null),
    note: (cached: number | null) => {
      if (cached === null) return;
      at.value = at.value === null ? cached : Math.min(at.value, cached);
    },
  };
}
