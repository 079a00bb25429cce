import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { type Action, type Item, type Outcome, Outbox, backoff, memoryItems, outcomeOf } from "./outbox";
import { indexedDbItems, leaseLock } from "./storage";

const need: Action = {
  kind: "need",
  service: "welfare",
  method: "POST",
  path: "/v1/needs",
  body: { category: "medical", description: "胃疼，想找个诊所" },
  label: "诉求：就医",
};

const freeLock = { run: async (work: () => Promise<void>) => (await work(), true) };

function setup(answers: Outcome[] | ((item: Item) => Promise<Outcome>), now = () => 1_000) {
  const store = indexedDbItems(new IDBFactory(), "test");
  const sent: Item[] = [];
  const send = async (item: Item) => {
    sent.push(item);
    if (typeof answers === "function") return answers(item);
    const next = answers.shift();
    if (!next) throw new Error("no answer left");
    return next;
  };
  return { outbox: new Outbox(store, send, freeLock, now), sent, store };
}

describe("outcomeOf", () => {
  it("takes 2xx as sent, the network's and services' trouble as later, other 4xx as refused", () => {
    expect(outcomeOf(201, { need_id: "n1" }, "").kind).toBe("sent");
    for (const status of [0, 401, 408, 429, 500, 502, 503, 504]) expect(outcomeOf(status, null, "").kind).toBe("later");
    for (const status of [400, 403, 404, 409, 422]) expect(outcomeOf(status, null, "x").kind).toBe("refused");
    const running = { error: { code: "conflict", retryable: true } };
    expect(outcomeOf(409, running, "").kind).toBe("later");
  });

  it("backs off from 5 seconds to 5 minutes", () => {
    expect([1, 2, 3, 4, 5, 6, 20].map(backoff)).toEqual([5e3, 15e3, 30e3, 60e3, 120e3, 300e3, 300e3]);
  });
});

describe("Outbox", () => {
  it("keeps an action in IndexedDB with its own key until it is sent, then forgets it", async () => {
    const { outbox, sent } = setup([{ kind: "sent", status: 201, body: { need_id: "n1" } }]);
    const item = await outbox.add(need);
    expect(item.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect((await outbox.items()).map((i) => [i.status, i.label])).toEqual([["pending", "诉求：就医"]]);
    const report = await outbox.flush();
    expect(report.sent.map((s) => s.body)).toEqual([{ need_id: "n1" }]);
    expect(sent.map((i) => i.key)).toEqual([item.key]);
    expect(await outbox.items()).toEqual([]);
  });

  it("sends again with the same key after a network error or a 5xx, after the backoff", async () => {
    let now = 1_000;
    const { outbox, sent } = setup(
      [
        { kind: "later", status: 0 },
        { kind: "later", status: 503 },
        { kind: "sent", status: 201, body: {} },
      ],
      () => now,
    );
    const item = await outbox.add(need);
    await outbox.flush();
    const kept = (await outbox.items())[0];
    expect([kept.status, kept.attempts, kept.next_at]).toEqual(["pending", 1, 6_000]);
    await outbox.flush(); // too early: the timer waits for the backoff
    expect(sent).toHaveLength(1);
    now = 6_000;
    await outbox.flush();
    expect((await outbox.items())[0].next_at).toBe(6_000 + 15_000);
    await outbox.flush(true); // the signal came back: at once
    expect(sent.map((i) => i.key)).toEqual([item.key, item.key, item.key]);
    expect(await outbox.items()).toEqual([]);
  });

  it("a thrown error (no signal at all) is kept for later too", async () => {
    const { outbox } = setup(async () => {
      throw new TypeError("Failed to fetch");
    });
    await outbox.add(need);
    const report = await outbox.flush();
    expect(report.kept).toHaveLength(1);
    expect((await outbox.items())[0].status).toBe("pending");
  });

  it("marks a refusal failed with the service's message, and sends it again only when asked", async () => {
    const { outbox, sent } = setup([
      { kind: "refused", status: 422, message: "诉求描述至少 2 个字" },
      { kind: "sent", status: 201, body: {} },
    ]);
    const item = await outbox.add(need);
    await outbox.flush();
    const failed = (await outbox.items())[0];
    expect([failed.status, failed.error]).toEqual(["failed", "诉求描述至少 2 个字"]);
    await outbox.flush(true);
    expect(sent).toHaveLength(1);
    await outbox.retry(item.key);
    await outbox.flush();
    expect(sent.map((i) => i.key)).toEqual([item.key, item.key]);
    expect(await outbox.items()).toEqual([]);
  });

  it("sends in the order he acted, and discards on request", async () => {
    let t = 0;
    const { outbox, sent } = setup(async () => ({ kind: "sent", status: 200, body: {} }), () => ++t);
    const first = await outbox.add({ ...need, label: "一" });
    const second = await outbox.add({ ...need, label: "二" });
    const third = await outbox.add({ ...need, label: "三" });
    await outbox.discard(second.key);
    await outbox.flush();
    expect(sent.map((i) => i.key)).toEqual([first.key, third.key]);
  });

  it("never sends one item twice at once, however often the page asks", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { outbox, sent } = setup(async () => {
      await gate;
      return { kind: "sent", status: 201, body: {} };
    });
    await outbox.add(need);
    const flushes = [outbox.flush(), outbox.flush(true), outbox.flush()];
    release();
    await Promise.all(flushes);
    await outbox.flush();
    expect(sent).toHaveLength(1);
  });

  it("does nothing while another tab holds the lock", async () => {
    const store = memoryItems();
    const sent: Item[] = [];
    const busy = { run: async () => false };
    const outbox = new Outbox(store, async (i) => (sent.push(i), { kind: "sent", status: 201, body: {} }), busy);
    await outbox.add(need);
    await outbox.flush(true);
    expect(sent).toEqual([]);
    expect(await outbox.items()).toHaveLength(1);
  });

  it("tells its listeners when the items change", async () => {
    const { outbox } = setup([{ kind: "sent", status: 201, body: {} }]);
    let told = 0;
    outbox.onChange(() => told++);
    await outbox.add(need);
    await outbox.flush();
    expect(told).toBe(2);
  });
});

describe("leaseLock", () => {
  it("lets one holder in at a time and gives a stale lease up", async () => {
    let now = 0;
    const storage = new Map<string, string>();
    const s = {
      getItem: (k: string) => storage.get(k) ?? null,
      setItem: (k: string, v: string) => void storage.set(k, v),
      removeItem: (k: string) => void storage.delete(k),
    } as Storage;
    const a = leaseLock("lock", s, 1_000, () => now);
    const b = leaseLock("lock", s, 1_000, () => now);
    let inner: boolean | null = null;
    expect(await a.run(async () => void (inner = await b.run(async () => {})))).toBe(true);
    expect(inner).toBe(false);
    storage.set("lock", JSON.stringify({ owner: "crashed", until: 500 }));
    now = 400;
    expect(await b.run(async () => {})).toBe(false);
    now = 600;
    expect(await b.run(async () => {})).toBe(true);
  });
});
