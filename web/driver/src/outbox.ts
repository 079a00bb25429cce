// The outbox (待发送): every write a driver makes is kept on the phone first, in IndexedDB, and sent
// when there is signal. Each action carries its own Idempotency-Key, made once when it is queued, so a
// resend after a lost answer takes effect once on the services.

export type Method = "POST" | "PUT";

/** What a page asks to send: the call, and how to show it while it waits. */
export interface Action {
  kind: string;
  service: string;
  method: Method;
  path: string;
  body: unknown;
  /** What the driver reads in the list of waiting items, in Chinese. */
  label: string;
  /** What the action is about (a meeting id, a content id...), so a page finds its own items. */
  ref?: string;
}

export interface Item extends Action {
  key: string;
  created_at: number;
  status: "pending" | "failed";
  attempts: number;
  /** Not tried again by the timer before this (ms since the epoch); a returning signal tries at once. */
  next_at: number;
  /** Why the services refused it (status "failed"), their own Chinese message. */
  error?: string;
}

/** The answer to one send: sent (2xx, or a replay of the first answer), refused, or to try later. */
export type Outcome =
  | { kind: "sent"; status: number; body: unknown }
  | { kind: "refused"; status: number; message: string }
  | { kind: "later"; status: number };

export type Sender = (item: Item) => Promise<Outcome>;

/** Where the items are kept: IndexedDB on the phone, a Map in tests. */
export interface ItemStore {
  all(): Promise<Item[]>;
  put(item: Item): Promise<void>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
}

/** A lock shared by the app's tabs, so one item is never sent twice at once. */
export interface Lock {
  /** Runs `work` if the lock is free, holding it meanwhile; false if another holder has it. */
  run(work: () => Promise<void>): Promise<boolean>;
}

// 5 s, 15 s, 30 s, 1 min, 2 min, then every 5 minutes: a phone on the road may be out for hours.
const BACKOFF_MS = [5_000, 15_000, 30_000, 60_000, 120_000, 300_000];

export function backoff(attempts: number): number {
  return BACKOFF_MS[Math.min(Math.max(attempts - 1, 0), BACKOFF_MS.length - 1)];
}

/** How an answer's status is taken. 408, 429 and 5xx are the network's or the service's trouble;
 * 401 means the session needs renewing (the client renews it, or signs him out); a 409 that says
 * it is retryable is the first send of the same key still running. Any other 4xx is a refusal that
 * another try would not change. */
export function outcomeOf(status: number, body: unknown, message: string): Outcome {
  if (status >= 200 && status < 300) return { kind: "sent", status, body };
  const retryable = (body as { error?: { retryable?: unknown } } | null)?.error?.retryable === true;
  if (status === 0 || status === 401 || status === 408 || status === 429 || status >= 500 || retryable) {
    return { kind: "later", status };
  }
  return { kind: "refused", status, message };
}

export function newKey(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  // Older WebViews: a version 4 UUID from getRandomValues.
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface FlushReport {
  sent: { item: Item; body: unknown }[];
  refused: Item[];
  kept: Item[];
}

export class Outbox {
  private flushing: Promise<FlushReport> | null = null;
  private listeners = new Set<() => void>();

  constructor(
    private readonly store: ItemStore,
    private readonly send: Sender,
    private readonly lock: Lock,
    private readonly now: () => number = Date.now,
  ) {}

  async add(action: Action): Promise<Item> {
    const item: Item = {
      ...action,
      key: newKey(),
      created_at: this.now(),
      status: "pending",
      attempts: 0,
      next_at: 0,
    };
    await this.store.put(item);
    this.changed();
    return item;
  }

  /** Oldest first: the order he acted in. */
  async items(): Promise<Item[]> {
    return (await this.store.all()).sort((a, b) => a.created_at - b.created_at);
  }

  /** Send what is due; `force` ignores the backoff (the signal just came back, or he asked). One
   * flush at a time in this tab, and in one tab at a time. */
  flush(force = false): Promise<FlushReport> {
    this.flushing ??= this.flushOnce(force).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async flushOnce(force: boolean): Promise<FlushReport> {
    const report: FlushReport = { sent: [], refused: [], kept: [] };
    await this.lock.run(async () => {
      for (const item of await this.items()) {
        if (item.status !== "pending") continue;
        if (!force && item.next_at > this.now()) {
          report.kept.push(item);
          continue;
        }
        // Another tab may have sent it while we waited for the lock: read it again.
        const current = (await this.store.all()).find((i) => i.key === item.key);
        if (!current || current.status !== "pending") continue;
        const outcome = await this.attempt(current);
        if (outcome.kind === "sent") {
          await this.store.delete(current.key);
          report.sent.push({ item: current, body: outcome.body });
        } else if (outcome.kind === "refused") {
          const failed: Item = { ...current, status: "failed", attempts: current.attempts + 1, error: outcome.message };
          await this.store.put(failed);
          report.refused.push(failed);
        } else {
          const attempts = current.attempts + 1;
          const kept: Item = { ...current, attempts, next_at: this.now() + backoff(attempts) };
          await this.store.put(kept);
          report.kept.push(kept);
        }
      }
    });
    if (report.sent.length || report.refused.length || report.kept.length) this.changed();
    return report;
  }

  private async attempt(item: Item): Promise<Outcome> {
    try {
      return await this.send(item);
    } catch {
      return { kind: "later", status: 0 };
    }
  }

  /** A refused item sent again as it was (same key: it never took effect). */
  async retry(key: string): Promise<void> {
    const item = (await this.store.all()).find((i) => i.key === key);
    if (!item) return;
    await this.store.put({ ...item, status: "pending", next_at: 0, error: undefined });
    this.changed();
  }

  async discard(key: string): Promise<void> {
    await this.store.delete(key);
    this.changed();
  }

  async clear(): Promise<void> {
    await this.store.clear();
    this.changed();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tell this tab's pages (and, through `changed` listeners, other tabs) that the items changed. */
  changed(): void {
    this.listeners.forEach((listener) => listener());
  }
}

/** A store in memory (tests; and a phone whose WebView has no IndexedDB, which then keeps the
 * queue only while the page is open). */
export function memoryItems(): ItemStore {
  const items = new Map<string, Item>();
  return {
    all: async () => [...items.values()].map((i) => ({ ...i })),
    put: async (item) => void items.set(item.key, { ...item }),
    delete: async (key) => void items.delete(key),
    clear: async () => items.clear(),
  };
}
