// A notice's link into this app (a learning push: "<the app's address>/learn/<id>") becomes a
// button to tap instead of an address to copy; links elsewhere stay text as they are.

export interface Linked {
  text: string; // the text without the app's address
  to: string | null; // the route the link opens in the app, if there is one
}

const URL_IN_TEXT = /https?:\/\/[^\s，。；、“”（）]+/g;

/** `appBase`: this app's address, e.g. "https://county.example/driver/". */
export function appLink(text: string, appBase: string): Linked {
  const base = appBase.endsWith("/") ? appBase : `${appBase}/`;
  for (const match of text.matchAll(URL_IN_TEXT)) {
    const url = match[0];
    if (!url.startsWith(base)) continue;
    const to = `/${url.slice(base.length)}`.replace(/\/+$/, "") || "/";
    const before = text.slice(0, match.index).replace(/\s+$/, "");
    const after = text.slice((match.index ?? 0) + url.length).replace(/^\s+/, "");
    return { text: before + after, to };
  }
  return { text, to: null };
}
