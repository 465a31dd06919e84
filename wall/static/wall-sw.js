// The hallway screens' service worker. A TV that restarts while the venue's network or the
// server is down opens its last wall instead of an error page; the page then reconnects and
// catches up from the sequence it was rendered at, as after any drop. It controls screens
// only (scope /wall/): the console and the digest are never cached.
"use strict";
const CACHE = "livewall-wall-1";
const MOST_ENTRIES = 400;  // pages, static files and images: a screen shows at most 60 cards

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.startsWith("/wall/")) {
    event.respondWith(networkFirst(request));
  } else if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/media/")) {
    // Content-hash and signed addresses: what is stored under one never changes.
    event.respondWith(cacheFirst(request));
  }
  // Everything else (the event stream, the heartbeat) goes to the network untouched.
});

// The first visit was loaded before this worker existed: the page sends what it loaded
// (itself, its static files, its images) to be stored now, and hears back when it is done.
self.addEventListener("message", (event) => {
  const urls = (event.data && event.data.keep) || [];
  event.waitUntil(keep(urls).then((count) => event.source.postMessage({ kept: count })));
});

async function keep(urls) {
  const cache = await caches.open(CACHE);
  let count = 0;
  for (const address of urls) {
    const url = new URL(address, self.location.origin);
    if (url.origin !== self.location.origin) continue;
    const page = url.pathname.startsWith("/wall/");
    if (!page && !url.pathname.startsWith("/static/") && !url.pathname.startsWith("/media/")) continue;
    if (!page && (await cache.match(url.href))) { count++; continue; }
    try {
      const response = await fetch(url.href);
      if (response.ok) { await cache.put(url.href, response); count++; }
    } catch (error) { /* offline already: the next visit tries again */ }
  }
  await trim(cache);
  return count;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) {
      await cache.put(request, response.clone());
      return response;
    }
    // A proxy's 502 while the server restarts is no better than being offline.
    if (response.status < 500) return response;
    return (await cache.match(request)) || response;
  } catch (error) {
    const cached = await cache.match(request);
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    await cache.put(request, response.clone());
    await trim(cache);
  }
  return response;
}

// Keys come back oldest first: the oldest images and old versions' files go first.
async function trim(cache) {
  const keys = await cache.keys();
  for (const key of keys.slice(0, Math.max(0, keys.length - MOST_ENTRIES))) {
    await cache.delete(key);
  }
}
