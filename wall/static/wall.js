// livewall screen: one EventSource resumed from the last sequence seen, three layouts,
// staff messages, the live broadcast, and the habits of a screen nobody touches for days:
// keep the content when the network goes, come back with backoff and jitter, reload only
// when the server answers (after a deploy, and once a night to keep memory flat).
"use strict";
(function () {
  const wall = document.getElementById("wall");
  const posts = document.getElementById("posts");
  if (!wall || !posts) return;

  const screen = wall.dataset.screen;
  const layoutName = wall.dataset.layout;
  const lang = document.documentElement.lang || "fr-CA";
  const offline = wall.querySelector(".offline-mark");
  const empty = wall.querySelector(".empty");
  const MAX_CARDS = { grid: 40, spotlight: 60, ticker: 30 }[layoutName] || 40;
  const RETRY_MIN = 1000, RETRY_MAX = 30000, STALE_MS = 45000;
  let lastSeq = Number(wall.dataset.seq || 0);
  // Slides (below) count the layouts' post turns from the start.
  const slides = new Map();  // slide id -> {slide, since (ms), posts (turns since shown)}

  // Cards ---------------------------------------------------------------------------------

  function cards() { return Array.from(posts.querySelectorAll(".post")); }

  function parseCard(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  // Pinned first, then newest first: the same order as the first render.
  function before(a, b) {
    const pa = a.hasAttribute("data-pinned"), pb = b.hasAttribute("data-pinned");
    if (pa !== pb) return pa;
    return Number(a.dataset.id) > Number(b.dataset.id);
  }

  function place(html) {
    const card = parseCard(html);
    if (!card || !card.id) return;
    const existing = document.getElementById(card.id);
    if (existing) {
      existing.replaceWith(card);
    } else {
      card.classList.add("arrive");
      layout.insert(card);
      trim();
    }
    layout.changed(card, !existing);
    empty.hidden = true;
  }

  function remove(id) {
    const card = document.getElementById("post-" + id);
    if (!card) return;
    layout.removing(card);
    card.classList.add("leaving");
    setTimeout(() => { card.remove(); layout.changed(null, false); empty.hidden = cards().length > 0; }, 350);
  }

  // The client holds a bounded number of cards: the oldest unpinned ones go first.
  function trim() {
    const all = cards();
    for (let i = all.length - 1; i >= 0 && all.length > MAX_CARDS; i--) {
      if (!all[i].hasAttribute("data-pinned")) { all[i].remove(); all.splice(i, 1); }
    }
  }

  function insertSorted(container, card) {
    const next = Array.from(container.querySelectorAll(":scope > .post")).find((c) => before(card, c));
    container.insertBefore(card, next || null);
  }

  // Grid: a masonry of absolute positions, so arrivals slide the others instead of jumping.
  function gridLayout() {
    let frame = 0;
    posts.classList.add("masonry");
    function columnsFor(width) {
      const em = parseFloat(getComputedStyle(posts).fontSize) || 28;
      return Math.max(1, Math.floor(width / (em * 17)));
    }
    function run() {
      frame = 0;
      const width = posts.clientWidth, height = posts.clientHeight;
      const gap = parseFloat(getComputedStyle(posts).columnGap) || 16;
      const count = columnsFor(width);
      const colWidth = (width - gap * (count - 1)) / count;
      const tops = new Array(count).fill(0);
      const lasts = new Array(count).fill(null);
      for (const card of cards()) {
        if (card.classList.contains("leaving")) continue;
        card.style.width = colWidth + "px";
        card.style.minHeight = "";
        card.classList.remove("stretched");
        const h = card.offsetHeight;
        let col = 0;
        for (let i = 1; i < count; i++) if (tops[i] < tops[col]) col = i;
        // A card that does not fit is kept aside (not cut): a shorter one may fit below.
        const fits = tops[col] + h <= height || tops[col] === 0;
        card.classList.toggle("off", !fits);
        if (!fits) continue;
        // A card placed for the first time appears where it belongs instead of sliding there.
        if (!card.dataset.placed) card.classList.add("no-move");
        card.dataset.placed = "1";
        card.style.transform = `translate(${col * (colWidth + gap)}px, ${tops[col]}px)`;
        tops[col] += h + gap;
        lasts[col] = card;
      }
      // The columns end on one line: the last card of each grows into what is left below it
      // (no card fits there), its footer at the bottom, instead of leaving a ragged gap.
      for (let i = 0; i < count; i++) {
        const room = height - (tops[i] - gap);
        if (!lasts[i] || room <= 0 || room > height * 0.3) continue;
        lasts[i].style.minHeight = lasts[i].offsetHeight + room + "px";
        lasts[i].classList.add("stretched");
      }
      requestAnimationFrame(() => requestAnimationFrame(() => {
        for (const card of posts.querySelectorAll(".no-move")) card.classList.remove("no-move");
      }));
    }
    function schedule() { if (!frame) frame = requestAnimationFrame(run); }
    window.addEventListener("resize", schedule);
    run();
    return {
      container: posts,
      insert(card) {
        card.classList.add("entering");
        insertSorted(posts, card);
      },
      changed(card) {
        run();
        if (card) requestAnimationFrame(() => card.classList.remove("entering"));
      },
      removing() {},
      relayout: schedule,
      pause() {},
      resume() {},
    };
  }

  // Spotlight: one post at a time; new ones shown next; featured ones come back more often.
  function spotlightLayout() {
    const seconds = Math.max(3, Number(wall.dataset.rotate || 12));
    const bar = wall.querySelector(".progress-bar");
    const fresh = [];
    let current = null, turn = 0, order = 0, featuredTurn = 0, timer = 0;
    function pick() {
      const all = cards();
      while (fresh.length) {
        const card = fresh.shift();
        if (card.isConnected) return card;
      }
      if (!all.length) return null;
      const featured = all.filter((c) => c.hasAttribute("data-featured"));
      turn++;
      if (featured.length && turn % 3 === 0) return featured[featuredTurn++ % featured.length];
      return all[order++ % all.length];
    }
    function show() {
      clearTimeout(timer);
      const next = pick();
      if (current) current.classList.remove("current");
      current = next;
      if (current) current.classList.add("current");
      if (current) postTurn();
      if (bar) {
        bar.classList.remove("run");
        void bar.offsetWidth;  // restarts the animation
        bar.style.animationDuration = seconds + "s";
        bar.classList.add("run");
      }
      timer = setTimeout(show, seconds * 1000);
    }
    show();
    return {
      container: posts,
      insert(card) {
        insertSorted(posts, card);
        if (fresh.length < 20) fresh.push(card);
        if (!current) show();
      },
      changed(card, added) {
        if (card && !added && current && card.id === current.id) {
          current = card;
          card.classList.add("current");
        }
      },
      removing(card) { if (card === current) { current = null; show(); } },
      relayout() {},
      // A slide takes the post's place for a few seconds; the rotation then goes on.
      pause() { clearTimeout(timer); if (bar) bar.classList.remove("run"); },
      resume: show,
    };
  }

  // Ticker: the band moves left; a card leaving on the left goes back to the end of the line.
  function tickerLayout() {
    const track = document.createElement("div");
    track.className = "ticker-track";
    for (const card of Array.from(posts.querySelectorAll(":scope > .post"))) track.appendChild(card);
    posts.appendChild(track);
    let offset = 0, last = performance.now();
    function speed() { return window.innerHeight * 0.11; }  // px per second, ~120 at 1080p
    function step(now) {
      const dt = Math.min(now - last, 100) / 1000;
      last = now;
      if (track.scrollWidth > posts.clientWidth) {
        offset -= speed() * dt;
        const first = track.firstElementChild;
        const gap = parseFloat(getComputedStyle(track).columnGap) || 0;
        if (first && first.offsetWidth + gap + offset < 0) {
          offset += first.offsetWidth + gap;
          track.appendChild(first);
          postTurn();  // a post went by: slides counted in posts come nearer
        }
      } else offset = 0;
      track.style.transform = `translateX(${offset}px)`;
      requestAnimationFrame(step);
    }
    requestAnimationFrame(step);
    return {
      container: track,
      insert(card) {
        // Next to enter on the right, not at the far end of the line.
        const edge = posts.clientWidth - offset;
        const next = Array.from(track.children).find((c) => c.offsetLeft > edge);
        track.insertBefore(card, next || null);
      },
      changed() {},
      removing() {},
      relayout() {},
      pause() {},
      resume() {},
    };
  }

  const layout = { grid: gridLayout, spotlight: spotlightLayout, ticker: tickerLayout }[layoutName]();

  // An image that cannot be shown goes away: an avatar falls back to the initials.
  document.addEventListener("error", (event) => {
    const img = event.target;
    if (!(img instanceof HTMLImageElement)) return;
    const figure = img.closest(".post-media");
    (figure || img).remove();
    layout.relayout();
  }, true);
  document.addEventListener("load", (event) => {
    if (event.target instanceof HTMLImageElement) layout.relayout();
  }, true);

  // Staff messages ------------------------------------------------------------------------

  const announcements = wall.querySelector(".announcements");
  const emergency = wall.querySelector(".emergency");
  const shown = new Map();  // message id -> {message, element}

  function message(m) {
    const old = shown.get(m.id);
    if (old) { if (old.element) old.element.remove(); shown.delete(m.id); }
    const ends = m.ends_at ? Date.parse(m.ends_at) : Infinity;
    if (m.active && ends > Date.now()) {
      let element = null;
      if (m.kind !== "emergency") {
        element = document.getElementById("announcement-template").content.firstElementChild.cloneNode(true);
        element.querySelector(".announcement-text").textContent = m.text;
        if (typeof m.image === "string" && m.image.startsWith("/media/staff/")) {
          const img = element.querySelector(".announcement-image");
          // An image that cannot load leaves the text on its own (the page drops broken images).
          img.addEventListener("error", () => element.classList.remove("with-image"));
          img.src = m.image;
          img.hidden = false;
          element.classList.add("with-image");
        }
        announcements.appendChild(element);
      }
      shown.set(m.id, { message: m, element: element, ends: ends });
    }
    showEmergency();
  }

  function showEmergency() {
    const active = Array.from(shown.values()).filter((s) => s.message.kind === "emergency");
    emergency.hidden = active.length === 0;
    if (active.length) emergency.querySelector(".emergency-text").textContent = active[active.length - 1].message.text;
  }

  function expire() {
    for (const [id, s] of shown) {
      if (s.ends <= Date.now()) { if (s.element) s.element.remove(); shown.delete(id); }
    }
    showEmergency();
  }

  // Slides --------------------------------------------------------------------------------
  // Sponsor and announcement slides keep their own schedule here (start, end, every N posts
  // or M seconds), so they run on time offline too; each is shown for a few seconds in place
  // of the posts, then the posts come back.

  const slideStage = wall.querySelector(".slide");
  let clockSkew = 0;  // the server's clock minus ours
  let slideShown = null, slideTimer = 0;

  function serverNow() { return Date.now() + clockSkew; }

  function slide(s) {
    if (!s.active) {
      slides.delete(s.id);
      if (slideShown === s.id) hideSlide();
      return;
    }
    if (s.screens && s.screens.length && s.screens.indexOf(screen) < 0) return;
    const old = slides.get(s.id);
    slides.set(s.id, { slide: s, since: old ? old.since : serverNow(), posts: old ? old.posts : 0 });
  }

  // A post turn: the spotlight shows the next post, a card leaves the ticker, or (grid) the
  // screen's rotate_seconds go by.
  function postTurn() { for (const entry of slides.values()) entry.posts++; }

  function dueSlide() {
    const now = serverNow();
    for (const [id, entry] of slides) {
      const s = entry.slide, start = Date.parse(s.starts_at), end = Date.parse(s.ends_at);
      if (now >= end) { slides.delete(id); continue; }
      if (now < start) { entry.since = start; entry.posts = 0; continue; }
      if (s.every_seconds && now - entry.since >= s.every_seconds * 1000) return entry;
      if (s.every_posts && entry.posts >= s.every_posts) return entry;
    }
    return null;
  }

  function showSlide(entry) {
    const s = entry.slide;
    const img = slideStage.querySelector(".slide-image");
    const image = typeof s.image === "string" && s.image.startsWith("/media/staff/");
    slideStage.querySelector(".slide-label").textContent = slideStage.dataset[s.kind] || "";
    slideStage.querySelector(".slide-text").textContent = s.text || "";
    img.hidden = !image;
    if (image) img.src = s.image; else img.removeAttribute("src");
    slideStage.classList.toggle("with-image", image);
    slideStage.classList.toggle("with-text", Boolean(s.text));
    slideShown = s.id;
    slideStage.hidden = false;
    document.body.classList.add("slide-on");
    layout.pause();
    slideTimer = setTimeout(hideSlide, Math.max(3, s.show_seconds || 8) * 1000);
  }

  function hideSlide() {
    clearTimeout(slideTimer);
    const entry = slides.get(slideShown);
    if (entry) { entry.since = serverNow(); entry.posts = 0; }
    slideShown = null;
    slideStage.hidden = true;
    document.body.classList.remove("slide-on");
    layout.resume();
  }

  // An image that cannot load leaves the text alone; a slide with nothing left goes away.
  slideStage.querySelector(".slide-image").addEventListener("error", () => {
    slideStage.classList.remove("with-image");
    if (!slideStage.classList.contains("with-text") && slideShown !== null) hideSlide();
  });

  setInterval(() => {
    if (slideShown !== null) return;
    const due = dueSlide();
    if (due) showSlide(due);
  }, 1000);
  if (layoutName === "grid") {
    setInterval(() => { if (slideShown === null) postTurn(); },
      Math.max(3, Number(wall.dataset.rotate || 12)) * 1000);
  }

  // « En direct » ------------------------------------------------------------------------

  const streamPanel = wall.querySelector(".stream");
  const liveBanner = wall.querySelector(".live-banner");

  function stream(state) {
    if (!streamPanel) return;  // this screen does not show the broadcast
    const player = streamPanel.querySelector(".player");
    const frame = player.querySelector("iframe");
    if (state.live && state.embed) {
      if (!frame || frame.dataset.src !== state.embed) {
        const iframe = document.createElement("iframe");
        iframe.src = state.embed;
        iframe.dataset.src = state.embed;
        iframe.allow = "autoplay; encrypted-media; picture-in-picture";
        iframe.referrerPolicy = "strict-origin-when-cross-origin";
        iframe.title = state.title || "";
        player.replaceChildren(iframe);
      }
      liveBanner.querySelector(".live-title").textContent = state.title || "";
    } else {
      player.replaceChildren();
    }
    const live = Boolean(state.live && state.embed);
    streamPanel.hidden = !live;
    liveBanner.hidden = !live;
    document.body.classList.toggle("streaming", live);
    layout.relayout();
  }

  // Staying alive -------------------------------------------------------------------------

  let source = null, retryDelay = RETRY_MIN, retryTimer = 0, lastActivity = Date.now();
  let reloadDue = false;

  // Reload only if the server answers: a reload while it is down would show an error page.
  // A reload that could not happen stays due, and happens when the stream is back.
  function safeReload() {
    reloadDue = true;
    fetch(location.href, { cache: "no-store" })
      .then((r) => { if (r.ok) location.reload(); })
      .catch(() => {});
  }

  function track(event) {
    lastActivity = Date.now();
    if (event.lastEventId) lastSeq = Math.max(lastSeq, Number(event.lastEventId));
  }

  function on(name, handler) {
    source.addEventListener(name, (event) => { track(event); handler(event); });
  }

  function connect() {
    clearTimeout(retryTimer);
    if (source) source.close();
    const url = "/wall/" + encodeURIComponent(screen) + "/events?after=" + lastSeq +
      "&lang=" + encodeURIComponent(wall.dataset.lang || "");
    source = new EventSource(url);
    lastActivity = Date.now();
    on("hello", (e) => {
      offline.hidden = true;
      retryDelay = RETRY_MIN;
      if (reloadDue || e.data !== wall.dataset.version) safeReload();  // due, or a new deploy
    });
    on("ping", () => {});
    on("seq", () => {});
    on("post", (e) => place(e.data));
    on("remove", (e) => remove(e.data));
    on("message", (e) => message(JSON.parse(e.data)));
    on("emergency", (e) => message(JSON.parse(e.data)));
    on("stream", (e) => stream(JSON.parse(e.data)));
    on("slide", (e) => slide(JSON.parse(e.data)));
    on("screen", (e) => {
      const command = JSON.parse(e.data);
      if (command.action === "reload") safeReload();
    });
    source.addEventListener("error", () => {
      // We retry ourselves (the browser's own retry has no backoff and gives up on a 5xx).
      offline.hidden = false;
      source.close();
      retryTimer = setTimeout(connect, retryDelay * (0.5 + Math.random()));
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX);
    });
  }

  // A stream that went silent (a proxy or Wi-Fi that dropped it without a word): start over.
  setInterval(() => {
    if (Date.now() - lastActivity > STALE_MS && source && source.readyState !== EventSource.CONNECTING) {
      offline.hidden = false;
      connect();
    }
  }, 5000);
  window.addEventListener("online", () => { retryDelay = RETRY_MIN; connect(); });

  // Once a night between 03:00 and 03:45, spread so screens do not all reload at once.
  // `?nightly=HH:MM[:SS]` sets an exact local time instead (for a screen set apart, and tests).
  function nightlyReload() {
    const set = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(new URLSearchParams(location.search).get("nightly") || "");
    const at = new Date();
    if (set) {
      at.setHours(Number(set[1]), Number(set[2]), Number(set[3] || 0), 0);
      if (at <= Date.now()) at.setDate(at.getDate() + 1);
    } else {
      at.setDate(at.getDate() + (at.getHours() >= 3 ? 1 : 0));
      at.setHours(3, Math.floor(Math.random() * 45), 0, 0);
    }
    setTimeout(function again() { safeReload(); setTimeout(again, 600000); }, at - Date.now());
  }

  function heartbeat() {
    fetch("/api/screens/heartbeat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        name: screen, version: wall.dataset.version, last_event_id: lastSeq,
        viewport: window.innerWidth + "x" + window.innerHeight, layout: layoutName,
        offline_copy: wall.dataset.offlineReady === "true",
      }),
      keepalive: true,
    }).catch(() => {});
  }

  // Times ---------------------------------------------------------------------------------

  // TV browsers older than Chromium 71 have no Intl.RelativeTimeFormat: a plain fallback
  // keeps the times moving instead of stopping the whole screen's script.
  const relative = Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "short" })
    : plainRelative(lang.slice(0, 2) === "fr");

  function plainRelative(french) {
    const units = { second: "s", minute: "min", hour: "h", day: french ? "j" : "d" };
    return {
      format(value, unit) {
        if (value === 0) return french ? "maintenant" : "now";
        const amount = Math.abs(value) + " " + units[unit];
        return french ? "il y a " + amount : amount + " ago";
      },
    };
  }
  // The event's time, wherever the TV's own clock is set (a TV left in UTC is common).
  const clockFormat = eventClock(wall.dataset.zone);

  function eventClock(zone) {
    const parts = { hour: "numeric", minute: "2-digit" };
    try {
      return new Intl.DateTimeFormat(lang, Object.assign({ timeZone: zone || undefined }, parts));
    } catch (e) {
      return new Intl.DateTimeFormat(lang, parts); // a TV browser that does not know the zone
    }
  }
  const clock = wall.querySelector(".clock");

  function refreshTimes() {
    for (const time of posts.querySelectorAll("time[datetime]")) {
      const seconds = (Date.parse(time.getAttribute("datetime")) - Date.now()) / 1000;
      const minutes = Math.round(seconds / 60), hours = Math.round(seconds / 3600);
      time.textContent = seconds > -45 ? relative.format(0, "second")
        : minutes > -60 ? relative.format(minutes, "minute")
        : hours > -24 ? relative.format(hours, "hour")
        : relative.format(Math.round(seconds / 86400), "day");
    }
    if (clock) clock.textContent = clockFormat.format(new Date());
    expire();
  }

  const state = JSON.parse(document.getElementById("wall-state").textContent || "{}");
  for (const m of state.messages || []) message(m);
  if (state.now) clockSkew = Date.parse(state.now) - Date.now();
  for (const s of state.slides || []) slide(s);
  if (state.stream) stream(state.stream);
  if (empty) empty.hidden = cards().length > 0;
  refreshTimes();
  setInterval(refreshTimes, 15000);
  heartbeat();
  setInterval(heartbeat, 30000);
  nightlyReload();
  connect();
  // Lets a screen restarted during an outage open its last wall (wall-sw.js); browsers allow
  // it on https and on localhost only, and a screen works the same without it.
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && event.data.kept && !wall.dataset.offlineReady) {
        wall.dataset.offlineReady = "true";
        heartbeat();  // staff see at once that this screen can restart during an outage
      }
    });
    navigator.serviceWorker.register("/wall/sw.js", { scope: "/wall/" })
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => {
        const loaded = performance.getEntriesByType("resource").map((entry) => entry.name);
        registration.active.postMessage({ keep: [location.href, ...loaded] });
      })
      .catch(() => {});
  }
})();
