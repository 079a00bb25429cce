// The outbox's IndexedDB store and the lock its tabs share.
import type { Item, ItemStore, Lock } from "./outbox";

const DB = "roadbranch-driver";
const STORE = "outbox";

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function open(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  const opening = factory.open(name, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: "key" });
  return request(opening);
}

/** The items in IndexedDB, one object a queued action, keyed by its Idempotency-Key. */
export function indexedDbItems(factory: IDBFactory = indexedDB, name = DB): ItemStore {
  let db: Promise<IDBDatabase> | null = null;
  const store = async (mode: IDBTransactionMode) => {
    db ??= open(factory, name);
    return (await db).transaction(STORE, mode).objectStore(STORE);
  };
  const done = (s: IDBObjectStore) =>
    new Promise<void>((resolve, reject) => {
      s.transaction.oncomplete = () => resolve();
      s.transaction.onerror = () => reject(s.transaction.error);
      s.transaction.onabort = () => reject(s.transaction.error);
    });
  return {
    all: async () => (await request((await store("readonly")).getAll())) as Item[],
    put: async (item) => {
      const s = await store("readwrite");
      s.put(JSON.parse(JSON.stringify(item)));
      await done(s);
    },
    delete: async (key) => {
      const s = await store("readwrite");
      s.delete(key);
      await done(s);
    },
    clear: async () => {
      const s = await store("readwrite");
      s.clear();
      await done(s);
    },
  };
}

interface Locks {
  request(name: string, options: { ifAvailable: boolean }, work: (lock: unknown) => Promise<void>): Promise<void>;
}

/** The Web Locks API where the WebView has it (Chromium-based XWeb does), else a lease in
 * localStorage that a crashed tab gives up after `leaseMs`. */
export function tabLock(name = "roadbranch.outbox.lock", storage: Storage | null = safeLocalStorage(), leaseMs = 30_000): Lock {
  const locks = (globalThis.navigator as { locks?: Locks } | undefined)?.locks;
  if (locks && typeof locks.request === "function") {
    return {
      run: async (work) => {
        let ran = false;
        await locks.request(name, { ifAvailable: true }, async (lock) => {
          if (lock === null) return;
          ran = true;
          await work();
        });
        return ran;
      },
    };
  }
  return leaseLock(name, storage, leaseMs);
}

export function leaseLock(name: string, storage: Storage | null, leaseMs: number, now: () => number = Date.now): Lock {
  const me = Math.random().toString(36).slice(2);
  let held = false;
  return {
    run: async (work) => {
      if (held) return false;
      if (storage) {
        const lease = JSON.parse(storage.getItem(name) ?? "null") as { owner: string; until: number } | null;
        if (lease && lease.owner !== me && lease.until > now()) return false;
        storage.setItem(name, JSON.stringify({ owner: me, until: now() + leaseMs }));
        // Two tabs writing at once: the last write wins, and the other steps back.
        if ((JSON.parse(storage.getItem(name) ?? "null") as { owner: string } | null)?.owner !== me) return false;
      }
      held = true;
      try {
        await work();
      } finally {
        held = false;
        storage?.removeItem(name);
      }
      return true;
    },
  };
}

export function safeLocalStorage(): Storage | null {
  try {
    const s = globalThis.localStorage;
    s.setItem("roadbranch.probe", "1");
    s.removeItem("roadbranch.probe");
    return s;
  } catch {
    return null;
  }
}
