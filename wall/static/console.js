// livewall console: the queue, live over one EventSource, decided with one key per action.
"use strict";
(function () {
  const queue = document.getElementById("queue");
  if (!queue) return;
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const items = document.getElementById("items");
  const empty = document.getElementById("empty");
  const countEl = document.getElementById("count");
  const selectedEl = document.getElementById("selected-count");
  const live = document.getElementById("live");
  const toast = document.getElementById("toast");
  const toastText = toast.querySelector(".toast-text");
  const toastUndo = toast.querySelector(".toast-undo");
  const announcer = document.getElementById("announce");
  // WCAG 2.1.4: a person whose speech software types letters can turn the letters off.
  const shortcuts = queue.dataset.shortcuts !== "off";
  const filter = queue.dataset.filter || "";
  const undoSeconds = Number(queue.dataset.undoSeconds || 10);
  let lastSeq = Number(queue.dataset.seq || 0);
  let current = null;
  let toastTimer = null;

  const cards = () => Array.from(items.querySelectorAll(".item:not(.leaving)"));
  const picked = () => Array.from(items.querySelectorAll(".item.picked:not(.leaving)"));

  function refresh() {
    const n = cards().length;
    empty.hidden = n > 0;
    const p = picked().length;
    selectedEl.hidden = p === 0;
    selectedEl.textContent = p ? "· " + p + " ✓" : "";
    if (!current || !current.isConnected) focus(cards()[0] || null);
  }

  function setCount(delta) { countEl.textContent = Math.max(0, Number(countEl.textContent) + delta); }

  // Focus is real and roving: the current card alone is in the tab order (tabindex 0) and
  // carries aria-current, so a screen reader says which post a key will act on. The keyboard's
  // focus follows only when it was in the queue already: a card arriving or leaving never
  // pulls it out of the filter box.
  function focus(card) {
    const inQueue = document.activeElement === document.body || items.contains(document.activeElement);
    if (current) {
      current.classList.remove("current");
      current.removeAttribute("aria-current");
      current.tabIndex = -1;
    }
    current = card;
    if (!card) return;
    card.classList.add("current");
    card.setAttribute("aria-current", "true");
    card.tabIndex = 0;
    if (inQueue && !card.contains(document.activeElement)) card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function announce(text) {
    // Emptied first, so the same words twice in a row are said twice.
    announcer.textContent = "";
    setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function move(step) {
    const list = cards();
    if (!list.length) return;
    const at = list.indexOf(current);
    focus(list[Math.min(list.length - 1, Math.max(0, at + step))]);
  }

  function parse(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  function place(html) {
    const card = parse(html);
    if (!card) return;
    const old = document.getElementById(card.id);
    if (old) {
      if (old.classList.contains("picked")) { card.classList.add("picked"); card.querySelector(".pick").checked = true; }
      // An open preview stays open, and reloads: it shows the post as it is now.
      if (old.querySelector("details.preview[open]")) card.querySelector("details.preview").open = true;
      old.replaceWith(card);
      if (old === current) focus(card);
    } else {
      const id = Number(card.dataset.id);
      const after = cards().find((c) => Number(c.dataset.id) < id);
      items.insertBefore(card, after || null);
      card.classList.add("arrived");
      setCount(1);
    }
    refresh();
  }

  function gone(id) {
    const card = document.getElementById("item-" + id);
    if (!card) return;
    if (card === current) {
      const list = cards();
      const at = list.indexOf(card);
      focus(list[at + 1] || list[at - 1] || null);
    }
    card.remove();
    setCount(-1);
    refresh();
  }

  function say(text, undoable, isError) {
    toastText.textContent = text;
    announce(text);
    toast.classList.toggle("bad", Boolean(isError));
    toastUndo.hidden = !undoable;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, (undoable ? undoSeconds : 6) * 1000);
  }

  async function send(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    if (response.status === 401) { location.href = "/console/login?next=" + encodeURIComponent(location.pathname + location.search); return null; }
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
    return { status: response.status, data };
  }

  function apply(results) {
    for (const r of results || []) {
      if (r.card) place(r.card);
      else gone(r.id);
    }
  }

  const LABELS = JSON.parse(document.getElementById("labels")?.textContent || "{}");

  const NEW_STATUS = { approve: "approved", reject: "rejected", retract: "retracted" };
  const viewStatus = new URLSearchParams(filter).get("status") || "pending";
  let chain = Promise.resolve();

  // A decision that takes the post out of this view moves on at once: the moderator keeps
  // typing while the server answers; requests go one after the other, in key order.
  function act(action, chosen) {
    chosen = chosen.filter((c) => c && !c.classList.contains("leaving"));
    if (!chosen.length) return;
    const next = NEW_STATUS[action];
    if (next && viewStatus !== "all" && next !== viewStatus) {
      let target = current;
      if (chosen.includes(current)) {
        const all = Array.from(items.querySelectorAll(".item"));
        const at = all.indexOf(current);
        const free = (c) => !c.classList.contains("leaving") && !chosen.includes(c);
        target = all.slice(at + 1).find(free) || all.slice(0, at).reverse().find(free) || null;
      }
      for (const card of chosen) card.classList.add("leaving");
      focus(target);
    }
    const posts = chosen.map((c) => ({ id: Number(c.dataset.id), status: c.dataset.status, version: c.dataset.version }));
    chain = chain.then(() => decide(action, posts, chosen)).catch(() => {});
  }

  async function decide(action, posts, chosen) {
    try {
      const answer = await send("/console/api/decide", { action, posts, filter });
      if (!answer) return;
      if (answer.status >= 400 && !answer.data.results) {
        for (const card of chosen) card.classList.remove("leaving");
        say(answer.data.error || String(answer.status), false, true);
        return;
      }
      apply(answer.data.results);
      const failed = answer.data.results.filter((r) => !r.ok);
      if (failed.length) say(failed.map((r) => r.error).join(" "), answer.data.undo, true);
      else say(done(action, chosen), answer.data.undo, false);
    } catch (e) {
      for (const card of chosen) card.classList.remove("leaving");
      say(LABELS.offline || "Network error", false, true);
    }
  }

  // « Approuvé : Julie Gagnon — Message depuis la salle… », or « Approuvé ×3 ».
  function done(action, chosen) {
    const label = LABELS[action] || action;
    if (chosen.length > 1) return label + " ×" + chosen.length;
    const template = LABELS.announce || "{action}: {post}";
    return template.replace("{action}", label).replace("{post}", chosen[0].dataset.summary || "");
  }

  async function undo() {
    if (toastUndo.hidden) return;
    toastUndo.hidden = true;
    await chain;
    const answer = await send("/console/api/undo", { filter });
    if (!answer) return;
    if (answer.status >= 400) { say(answer.data.error, false, true); return; }
    apply(answer.data.results);
    say(LABELS.undone || "Undone", false, false);
  }

  function targets() {
    const chosen = picked();
    return chosen.length ? chosen : [current];
  }

  function toggle(card, flag, on, off) {
    return card && card.dataset[flag] === "true" ? off : on;
  }

  function pick(card) {
    if (!card) return;
    card.classList.toggle("picked");
    card.querySelector(".pick").checked = card.classList.contains("picked");
    refresh();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (["input", "select", "textarea"].includes(tag) && event.target.type !== "checkbox") {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (!shortcuts) return;
    const key = event.key;
    const handlers = {
      j: () => move(1),
      k: () => move(-1),
      a: () => act("approve", targets()),
      r: () => act("reject", targets()),
      h: () => act("retract", targets()),
      p: () => act(toggle(current, "pinned", "pin", "unpin"), targets()),
      f: () => act(toggle(current, "featured", "feature", "unfeature"), targets()),
      x: () => pick(current),
      v: () => { const preview = current && current.querySelector("details.preview"); if (preview) preview.open = !preview.open; },
      u: () => undo(),
      "/": () => document.getElementById("text-filter").focus(),
    };
    if (handlers[key]) {
      event.preventDefault();
      handlers[key]();
    }
  });

  // Tab or a click into a card makes it the current one.
  items.addEventListener("focusin", (event) => {
    const card = event.target.closest(".item");
    if (card && card !== current && !card.classList.contains("leaving")) focus(card);
  });

  items.addEventListener("click", (event) => {
    const card = event.target.closest(".item");
    if (!card) return;
    const button = event.target.closest("button[data-action]");
    if (event.target.classList.contains("pick")) { focus(card); pick(card); card.querySelector(".pick").checked = card.classList.contains("picked"); return; }
    focus(card);
    if (button) act(button.dataset.action, card.classList.contains("picked") ? picked() : [card]);
  });
  toastUndo.addEventListener("click", undo);

  // The card as the screens draw it, framed from the server when first opened (not before:
  // a queue of 200 posts must not load 200 frames).
  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!details.matches || !details.matches("details.preview") || !details.open) return;
    if (details.querySelector("iframe")) return;
    const frame = document.createElement("iframe");
    frame.src = details.dataset.src;
    frame.title = details.querySelector("summary").textContent.trim();
    details.appendChild(frame);
  }, true);

  function connect() {
    const source = new EventSource("/console/events?after=" + lastSeq + (filter ? "&" + filter : ""));
    const track = (e) => { if (e.lastEventId) lastSeq = Math.max(lastSeq, Number(e.lastEventId)); };
    source.addEventListener("open", () => { live.hidden = false; });
    source.addEventListener("card", (e) => { track(e); place(e.data); });
    source.addEventListener("gone", (e) => { track(e); gone(e.data); });
    source.addEventListener("seq", track);
    // What waits, for the title, the favicon and the notifications (notify.js).
    source.addEventListener("waiting", (e) => document.dispatchEvent(new CustomEvent("livewall:waiting", { detail: e.data })));
    source.addEventListener("error", () => {
      live.hidden = true;
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    });
  }

  refresh();
  connect();
})();
