// livewall console: moderators never miss a post. On every console page, the number of posts
// waiting goes into the tab title and the favicon; a chime (made with WebAudio, nothing fetched)
// when one arrives, and a browser notification when one has waited longer than the moderator
// chose. The counts come from the console's event stream: the queue's own (console.js passes
// them on), or on other pages a stream of the counts only.
"use strict";
(function () {
  if (!document.querySelector('meta[name="csrf-token"]')) return; // the login page
  const root = document.documentElement;
  const baseTitle = document.title;
  const icon = document.querySelector('link[rel="icon"]') || document.head.appendChild(
    Object.assign(document.createElement("link"), { rel: "icon" }));
  const plainIcon = icon.href;
  let prefs = { sound: false, notifications: true, after: 120, labels: {} };
  let latest = null; // the last "waiting" event and when it arrived (performance.now())
  let newestSeen = null;
  let notified = 0; // the oldest post already notified about: once per post
  let timer = null;
  let audio = null;

  function badge(count) {
    if (!count) return plainIcon;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 64;
    const g = canvas.getContext("2d");
    g.fillStyle = "#b42318";
    g.beginPath();
    g.roundRect ? g.roundRect(0, 0, 64, 64, 16) : g.rect(0, 0, 64, 64);
    g.fill();
    const text = count > 99 ? "99+" : String(count);
    g.fillStyle = "#fff";
    g.font = "bold " + (text.length > 2 ? 28 : text.length > 1 ? 38 : 46) + "px sans-serif";
    g.textAlign = "center";
    g.textBaseline = "middle";
    g.fillText(text, 32, 35);
    return canvas.toDataURL("image/png");
  }

  function show(count) {
    document.title = count ? "(" + (count > 99 ? "99+" : count) + ") " + baseTitle : baseTitle;
    icon.href = badge(count);
    root.dataset.waiting = String(count);
  }

  // Browsers let a page make sound only after a click or a key in it: open the audio then.
  function unlock() {
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === "suspended") audio.resume().catch(() => {});
  }

  function chime() {
    unlock();
    if (!audio) return;
    const start = audio.currentTime + 0.01;
    for (const [offset, pitch] of [[0, 880], [0.16, 1318.5]]) {
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.type = "sine";
      tone.frequency.value = pitch;
      volume.gain.setValueAtTime(0.0001, start + offset);
      volume.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
      volume.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.35);
      tone.connect(volume).connect(audio.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.4);
    }
  }

  function text(template, values) {
    return (template || "").replace(/%\((\w+)\)s/g, (_, name) => values[name]);
  }

  // Called when the oldest waiting post reaches the moderator's delay; the outcome is kept
  // on <html data-notify> so that one can tell a notification left out from one not yet due.
  function due() {
    const now = latest && latest.data;
    if (!now || !now.count) return;
    if (now.oldest === notified) return;
    notified = now.oldest;
    const allowed = window.Notification && Notification.permission === "granted";
    if (!prefs.notifications || !allowed) {
      root.dataset.notify = (prefs.notifications ? "blocked:" : "off:") + now.oldest;
      return;
    }
    const waited = now.waited + (performance.now() - latest.at) / 1000;
    const note = new Notification(prefs.labels.title || "livewall", {
      body: text(prefs.labels.body, { count: now.count, minutes: Math.floor(waited / 60) }),
      tag: "livewall-waiting",
      lang: root.lang,
    });
    note.onclick = () => { window.focus(); location.href = "/console"; };
    root.dataset.notify = "sent:" + now.oldest;
  }

  function schedule() {
    clearTimeout(timer);
    // Not before this moderator's own choices are read: a stream's first event may come
    // first, and the defaults would notify someone who turned notifications off.
    if (root.dataset.notifyReady !== "true") return;
    const now = latest && latest.data;
    if (!now || !now.count || now.oldest === notified) return;
    const left = (prefs.after - now.waited) * 1000 - (performance.now() - latest.at);
    root.dataset.notify = "waiting:" + now.oldest;
    timer = setTimeout(due, Math.max(0, left));
  }

  function waiting(data) {
    const now = JSON.parse(data);
    latest = { data: now, at: performance.now() };
    show(now.count);
    if (newestSeen !== null && now.newest > newestSeen && prefs.sound) chime();
    newestSeen = Math.max(newestSeen || 0, now.newest);
    schedule();
  }

  function listen() {
    if (document.getElementById("queue")) {
      // The queue page already has the console's stream: one EventSource per page.
      document.addEventListener("livewall:waiting", (event) => waiting(event.detail));
      return;
    }
    const connect = () => {
      const source = new EventSource("/console/events?only=waiting");
      source.addEventListener("waiting", (event) => waiting(event.data));
      source.addEventListener("error", () => {
        if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
      });
    };
    connect();
  }

  async function load() {
    try {
      // Its words in the page's language (the page's <html lang>, fr-CA or en-CA).
      const answer = await fetch("/console/api/notify?lang=" + (root.lang || "fr").slice(0, 2), {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (answer.ok) prefs = await answer.json();
    } catch (e) { /* the defaults stand until the next page */ }
    root.dataset.notifyReady = "true";
    schedule();
  }

  // The preferences page: ask this browser for permission, try the sound.
  function preferencesPage() {
    const status = document.getElementById("notify-permission");
    if (!status) return;
    const say = () => {
      const state = window.Notification ? Notification.permission : "unsupported";
      status.textContent = status.dataset[state] || state;
    };
    document.getElementById("notify-ask").addEventListener("click", async () => {
      if (window.Notification) await Notification.requestPermission();
      say();
    });
    document.getElementById("notify-try").addEventListener("click", chime);
    say();
  }

  document.addEventListener("pointerdown", unlock, { once: true });
  document.addEventListener("keydown", unlock, { once: true });
  listen();
  load();
  preferencesPage();
})();
