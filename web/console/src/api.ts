// The console's one API instance: tokens in the tab's sessionStorage (a county office PC is shared:
// closing the tab ends the sign-in there), the gateway at the page's own origin.
import { Api, SessionStore, memoryStore } from "@roadbranch/api";

function tabStorage() {
  try {
    return window.sessionStorage;
  } catch {
    return memoryStore();
  }
}

export const sessions = new SessionStore(tabStorage());
export const api = new Api({
  sessions,
  onSignedOut: () => {
    const back = window.location.pathname + window.location.hash;
    window.location.assign(`/login?next=${encodeURIComponent(back)}`);
  },
});
export const clients = api.clients;
