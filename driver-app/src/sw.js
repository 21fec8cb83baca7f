// Service worker of the driver app (scope /driver/). It keeps the app shell (HTML, hashed
// JS/CSS, message files, icon) so the app opens with no network; the driver API is never
// cached here (the app keeps its data in IndexedDB). A new version installs in the background
// and waits: the page tells it to take over only when no run is under way.
const VERSION = self.__VERSION__;
const SHELL = self.__SHELL__;
const CACHE = `passaggio-driver-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const k of await caches.keys()) if (k.startsWith("passaggio-driver-") && k !== CACHE) await caches.delete(k);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "SKIP_WAITING") self.skipWaiting();
  if (event.data?.type === "VERSION") event.source?.postMessage({ type: "VERSION", version: VERSION });
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || url.pathname.includes("/api/")) return;
  if (url.pathname.startsWith("/tiles/")) {
    // Base-map tiles: kept once fetched, so the map stays with no network.
    event.respondWith(
      (async () => {
        const cache = await caches.open("passaggio-tiles");
        const hit = await cache.match(req);
        if (hit) return hit;
        const res = await fetch(req);
        if (res.ok && res.status === 200) await cache.put(req, res.clone());
        return res;
      })(),
    );
    return;
  }
  const scope = new URL(self.registration.scope);
  if (!url.pathname.startsWith(scope.pathname)) return;
  // The shell from the cache first (it is versioned by this file); anything else of the app
  // from the network, falling back to the cache.
  const key = req.mode === "navigate" ? scope.href : req;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(key, { ignoreSearch: req.mode === "navigate" });
      if (hit) return hit;
      try {
        return await fetch(req);
      } catch (e) {
        return (await cache.match(scope.href)) ?? Response.error();
      }
    })(),
  );
});
