// The driver app's service worker (scope /driver/), written into dist/sw.js by the build with the
// list of built files and their version.
//
// - The app shell (index.html and the hashed assets) is cached at install: the app opens without
//   signal. A new version installs in the background and takes over on the next start (no
//   skipWaiting: a page never runs half old, half new code).
// - GETs of /api/* go to the network first; a good answer is kept (stamped with the time it
//   arrived), and without signal the last good answer is served, marked X-Roadbranch-From-Cache.
// - Writes are not touched here: the page's outbox sends them (Background Sync is missing in
//   WeChat's browser).
const VERSION = "__VERSION__";
const SHELL = [] /* __SHELL__ */;
const BASE = "/driver/";
const SHELL_CACHE = `roadbranch-driver-shell-${VERSION}`;
const API_CACHE = "roadbranch-driver-api";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("roadbranch-driver-shell-") && name !== SHELL_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "version" && event.ports[0]) event.ports[0].postMessage(VERSION);
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) {
    event.respondWith(networkFirst(request));
  } else if (request.mode === "navigate" && url.pathname.startsWith(BASE)) {
    event.respondWith(shell(request));
  } else if (url.pathname.startsWith(`${BASE}assets/`)) {
    event.respondWith(cacheFirst(request));
  }
});

async function shell(request) {
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(`${BASE}index.html`);
  if (cached) return cached;
  return fetch(request);
}

async function cacheFirst(request) {
  const cached = await caches.match(request);
  return cached || fetch(request);
}

async function networkFirst(request) {
  try {
    const answer = await fetch(request);
    if (answer.ok && (answer.headers.get("content-type") || "").includes("json")) {
      const headers = new Headers(answer.headers);
      headers.set("X-Roadbranch-Stored-At", String(Date.now()));
      const body = await answer.clone().arrayBuffer();
      const cache = await caches.open(API_CACHE);
      await cache.put(request.url, new Response(body, { status: answer.status, headers }));
    }
    return answer;
  } catch (error) {
    const cached = await (await caches.open(API_CACHE)).match(request.url, { ignoreVary: true });
    if (!cached) throw error;
    const headers = new Headers(cached.headers);
    headers.set("X-Roadbranch-From-Cache", "1");
    return new Response(await cached.arrayBuffer(), { status: cached.status, headers });
  }
}
