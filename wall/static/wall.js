// livewall screen: live updates over one EventSource, resumed from the last sequence seen.
"use strict";
(function () {
  const posts = document.getElementById("posts");
  if (!posts) return;
  const screen = posts.dataset.screen;
  const offline = document.querySelector(".offline-mark");
  let lastSeq = Number(posts.dataset.seq || 0);
  let source = null;
  let retryDelay = 1000;

  function place(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html.trim();
    const card = holder.content.firstElementChild;
    if (!card) return;
    const existing = document.getElementById(card.id);
    if (existing) existing.replaceWith(card);
    else {
      const firstUnpinned = posts.querySelector(".post:not(.pinned)");
      posts.insertBefore(card, card.classList.contains("pinned") ? posts.firstChild : firstUnpinned);
    }
    trim();
  }

  function remove(id) {
    const card = document.getElementById("post-" + id);
    if (card) card.remove();
  }

  function trim() {
    const cards = posts.querySelectorAll(".post");
    for (let i = 60; i < cards.length; i++) cards[i].remove();
    const empty = posts.querySelector(".empty");
    if (empty) empty.hidden = cards.length > 0;
  }

  function track(event) {
    if (event.lastEventId) lastSeq = Math.max(lastSeq, Number(event.lastEventId));
  }

  function connect() {
    source = new EventSource("/wall/" + encodeURIComponent(screen) + "/events?after=" + lastSeq);
    source.addEventListener("open", () => { offline.hidden = true; retryDelay = 1000; });
    source.addEventListener("hello", (e) => {
      if (e.data !== posts.dataset.version) location.reload();  // a new deploy
    });
    source.addEventListener("post", (e) => { track(e); place(e.data); });
    source.addEventListener("remove", (e) => { track(e); remove(e.data); });
    source.addEventListener("error", () => {
      offline.hidden = false;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (server down, 5xx): retry ourselves, with backoff and jitter.
        setTimeout(connect, retryDelay * (0.5 + Math.random()));
        retryDelay = Math.min(retryDelay * 2, 30000);
      }
    });
  }

  const relative = new Intl.RelativeTimeFormat(document.documentElement.lang || "fr-CA", { numeric: "auto", style: "short" });
  function refreshTimes() {
    for (const time of posts.querySelectorAll("time[datetime]")) {
      const seconds = (Date.parse(time.getAttribute("datetime")) - Date.now()) / 1000;
      const minutes = Math.round(seconds / 60), hours = Math.round(seconds / 3600);
      time.textContent = Math.abs(seconds) < 45 ? relative.format(0, "second")
        : Math.abs(minutes) < 60 ? relative.format(minutes, "minute")
        : Math.abs(hours) < 24 ? relative.format(hours, "hour")
        : relative.format(Math.round(seconds / 86400), "day");
    }
  }
  setInterval(refreshTimes, 30000);
  connect();
})();
