// A GET's data and whether it came from the service worker's cache (no signal), and when that
// answer had arrived.
import { ApiProblem, unwrap } from "@roadbranch/api";
import { onMounted, onUnmounted, ref } from "vue";
import { onSent } from "./sync";

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

/** A page's reads: `read` runs when the page opens, on pull-to-refresh and whenever the outbox has
 * sent something (so what he did shows as the services have it). It calls `note` with each
 * answer's cache time; a failure is said in `problem`, in the services' Chinese. */
export function usePageData(read: (note: (cached: number | null) => void) => Promise<void>) {
  const problem = ref("");
  const refreshing = ref(false);
  const stale = useStaleness();
  async function refresh() {
    problem.value = "";
    stale.reset();
    try {
      await read(stale.note);
    } catch (error) {
      problem.value = error instanceof ApiProblem ? error.message : String(error);
    } finally {
      refreshing.value = false;
    }
  }
  let stop = () => {};
  onMounted(() => {
    void refresh();
    stop = onSent(() => void refresh());
  });
  onUnmounted(() => stop());
  return { problem, refreshing, stale, refresh };
}
