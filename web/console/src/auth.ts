// Who is signed in, as identity's /v1/me tells it, shared by every page.
import { reactive } from "vue";
import { api, clients, sessions } from "./api";
import { unwrap, type Grant } from "@roadbranch/api";
import { forgetOrganisations } from "./organisations";
import { forgetPeople } from "./people";

export interface Me {
  subject: string;
  role: string;
  org_scope?: string | null;
  account?: { username: string; display_name: string; roles: string[]; must_change?: boolean };
}

export const auth = reactive<{ me: Me | null; loaded: boolean }>({ me: null, loaded: false });

export async function loadMe(): Promise<Me | null> {
  if (!sessions.get()) {
    auth.me = null;
  } else {
    try {
      auth.me = (await unwrap(clients.identity.GET("/v1/me"))) as unknown as Me;
    } catch {
      auth.me = null;
    }
  }
  auth.loaded = true;
  return auth.me;
}

export interface SignInForm {
  username: string;
  password: string;
  new_password?: string;
  role?: string;
}

export async function signIn(form: SignInForm): Promise<Me | null> {
  const body = { ...form, new_password: form.new_password || undefined, role: form.role || undefined };
  const grant = await unwrap(clients.identity.POST("/v1/sessions", { body: body as never }));
  sessions.save(grant as unknown as Grant);
  forgetOrganisations();
  forgetPeople();
  return loadMe();
}

export async function signOut(): Promise<void> {
  await api.signOut();
  auth.me = null;
  forgetOrganisations();
  forgetPeople();
}
