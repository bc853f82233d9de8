// The app shell offline: network first for every same-origin GET (the page, its scripts and
// styles, the catalog, the queue and tickets the crew last loaded), the last good answer from
// the cache when the network fails — so a reload without network still shows the last queue.
// Served at /sw.js (scope /). Browsers allow service workers on HTTPS and localhost only; on
// plain HTTP the outbox still keeps actions while the page is open (outbox.js).
const CACHE = "gridwatch-shell-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/v1/events") || url.pathname.startsWith("/api/v1/public/")) return;
  e.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const key = url.pathname + url.search;
    try {
      const res = await fetch(req);
      if (res.ok) await cache.put(key, res.clone());
      return res;
    } catch (err) {
      const hit = await cache.match(key);
      if (hit) return hit;
      throw err;
    }
  })());
});
