// The shared client, with the tokens in localStorage: a driver stays signed in on his phone.
import { Api, NETWORK_MESSAGE, SessionStore, memoryStore, type StoredSession } from "@roadbranch/api";
import { safeLocalStorage } from "./storage";

export const storage = safeLocalStorage() ?? memoryStore();
export const sessions = new SessionStore(storage);

/** Without signal, a refused renewal would stop every call before the service worker could answer
 * from its cache: a renewal that cannot reach identity is answered "unavailable", so the call goes
 * on with the token in hand (the cache answers it) and the session is kept. */
const fetchOrOffline: typeof fetch = async (input, init) => {
  try {
    return await globalThis.fetch(input, init);
  } catch (error) {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.endsWith("/v1/sessions/refresh")) throw error;
    const body = JSON.stringify({ error: { code: "unavailable", message: NETWORK_MESSAGE } });
    return new Response(body, { status: 503, headers: { "Content-Type": "application/json" } });
  }
};

const signedOutListeners = new Set<() => void>();
export function onSignedOut(listener: () => void): void {
  signedOutListeners.add(listener);
}

export const api = new Api({ sessions, fetch: fetchOrOffline, onSignedOut: () => signedOutListeners.forEach((l) => l()) });
export const clients = api.clients;

export interface DriverSession extends StoredSession {
  driver_id: string;
}

export function driverId(): string {
  return (sessions.get() as DriverSession | null)?.driver_id ?? "";
}
