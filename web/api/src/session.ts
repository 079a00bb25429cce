// A signed-in person's tokens. The access token lives ten minutes; the refresh token (kept in the
// storage the front end chooses: the console uses the tab's sessionStorage) gets the next one.

export interface Grant {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  session_id: string;
  role: string;
}

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const KEY = "roadbranch.session";

export interface StoredSession extends Grant {
  /** When the access token stops working, ms since the epoch (a little early, for clock skew). */
  expires_at: number;
}

export class SessionStore {
  private listeners = new Set<(session: StoredSession | null) => void>();

  constructor(
    private readonly store: KeyValueStore,
    private readonly now: () => number = Date.now,
  ) {}

  get(): StoredSession | null {
    const text = this.store.getItem(KEY);
    if (!text) return null;
    try {
      return JSON.parse(text) as StoredSession;
    } catch {
      this.store.removeItem(KEY);
      return null;
    }
  }

  save(grant: Grant): StoredSession {
    const session = { ...grant, expires_at: this.now() + Math.max(grant.expires_in - 30, 5) * 1000 };
    this.store.setItem(KEY, JSON.stringify(session));
    this.listeners.forEach((listener) => listener(session));
    return session;
  }

  clear(): void {
    this.store.removeItem(KEY);
    this.listeners.forEach((listener) => listener(null));
  }

  /** True when the access token should be renewed before it is sent. */
  stale(session: StoredSession): boolean {
    return this.now() >= session.expires_at;
  }

  onChange(listener: (session: StoredSession | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** A store that forgets everything when the page closes (tests, or no storage at all). */
export function memoryStore(): KeyValueStore {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}
