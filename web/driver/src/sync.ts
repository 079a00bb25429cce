// The phone's outbox, wired: IndexedDB, the shared client with each item's Idempotency-Key, and
// the moments it is flushed (app start, the signal back, the page shown again, a timer).
import { problemOf } from "@roadbranch/api";
import { reactive } from "vue";
import { api } from "./api";
import { type Action, type FlushReport, type Item, type Outcome, Outbox, memoryItems, outcomeOf } from "./outbox";
import { indexedDbItems, tabLock } from "./storage";

const TIMER_MS = 20_000;

async function send(item: Item): Promise<Outcome> {
  const init: RequestInit = { method: item.method, headers: { "Idempotency-Key": item.key } };
  if (item.body !== undefined && item.body !== null) {
    init.headers = { ...init.headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(item.body);
  }
  const answer = await api.raw(item.service, item.path, init);
  const body = (answer.headers.get("content-type") ?? "").includes("json") ? await answer.json().catch(() => null) : null;
  if (answer.ok) return outcomeOf(answer.status, body, "");
  const problem = problemOf(answer.status, body);
  const messages = [problem.message, ...Object.values(problem.byField)];
  return outcomeOf(answer.status, body, [...new Set(messages)].join("；"));
}

function store() {
  try {
    if (typeof indexedDB !== "undefined") return indexedDbItems();
  } catch {
    // no IndexedDB (a private mode): the queue lives as long as the page
  }
  return memoryItems();
}

export const outbox = new Outbox(store(), send, tabLock());

export const queue = reactive<{ items: Item[]; online: boolean; sending: boolean }>({
  items: [],
  online: typeof navigator === "undefined" ? true : navigator.onLine !== false,
  sending: false,
});

const channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel("roadbranch-outbox");
const sentListeners = new Set<(report: FlushReport) => void>();

async function reload(): Promise<void> {
  queue.items = await outbox.items();
}

outbox.onChange(() => {
  void reload();
  channel?.postMessage("changed");
});

/** Told after every flush that sent or refused something (pages reload what they show). */
export function onSent(listener: (report: FlushReport) => void): () => void {
  sentListeners.add(listener);
  return () => sentListeners.delete(listener);
}

export async function flush(force = false): Promise<FlushReport | null> {
  if (!queue.items.some((i) => i.status === "pending")) await reload();
  if (!queue.items.some((i) => i.status === "pending")) return null;
  queue.sending = true;
  try {
    const report = await outbox.flush(force);
    if (report.sent.length || report.refused.length) {
      sentListeners.forEach((listener) => listener(report));
      channel?.postMessage("sent");
    }
    return report;
  } finally {
    queue.sending = false;
  }
}

/** Queue an action (shown at once as 待发送) and try to send it straight away. */
export async function enqueue(action: Action): Promise<Item> {
  const item = await outbox.add(action);
  void flush(true);
  return item;
}

export function itemsOf(kind: string, ref?: string): Item[] {
  return queue.items.filter((i) => i.kind === kind && (ref === undefined || i.ref === ref));
}

let started = false;

export function startSync(): void {
  if (started) return;
  started = true;
  void reload().then(() => flush(true));
  window.addEventListener("online", () => {
    queue.online = true;
    void flush(true);
  });
  window.addEventListener("offline", () => {
    queue.online = false;
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") void flush(true);
  });
  window.setInterval(() => void flush(), TIMER_MS);
  if (channel) {
    channel.onmessage = (event) => {
      void reload();
      if (event.data === "sent") sentListeners.forEach((l) => l({ sent: [], refused: [], kept: [] }));
    };
  } else {
    // No BroadcastChannel (older WebViews): the lock's storage writes tell the other tabs.
    window.addEventListener("storage", (event) => {
      if (event.key === "roadbranch.outbox.lock") void reload();
    });
  }
}

export async function clearQueue(): Promise<void> {
  await outbox.clear();
}
