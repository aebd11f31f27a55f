// edgepbx admin UI behaviour. Vanilla JS, no build step. The CSP forbids inline scripts,
// so every page's behaviour lives here, picked by <body data-page>. Changes go through the
// JSON API with the session's CSRF token (read from <meta name="csrf-token">).
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";

  async function api(method, path, body) {
    const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf();
    let res;
    try {
      res = await fetch("/api/v1" + path, opts);
    } catch (e) {
      return { ok: false, status: 0, data: { error: "the box does not answer" } };
    }
    let data = {};
    try { data = await res.json(); } catch (e) { /* empty body */ }
    if (res.status === 401 && !path.startsWith("/auth/")) window.location.href = "/login";
    return { ok: res.ok, status: res.status, data };
  }

  function say(text, ok) {
    const el = $("#message");
    if (!el) return;
    el.textContent = text || "";
    el.className = "message " + (ok ? "ok" : "error");
  }

  // ---- live parts. The server renders every page; the parts that change carry data-live and
  // an id. On news from the box we fetch the page again and swap the parts that changed, so
  // one renderer (pages in Python) draws both the first view and the live one. Fields a person
  // types into are not live; their enabled state follows the server through data-sync.
  const served = new WeakMap();   // live element -> the HTML the server sent for it
  let clockOffset = 0;            // box clock minus browser clock, in seconds

  function readClock(doc) {
    const main = $("#main", doc);
    if (main && main.dataset.now) clockOffset = Number(main.dataset.now) - Date.now() / 1000;
  }

  function duration(seconds) {
    const t = Math.max(0, Math.floor(seconds));
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    const ss = String(s).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + ss : m + ":" + ss;
  }

  function tick() {
    const now = Date.now() / 1000 + clockOffset;
    $$(".tick[data-since]").forEach((el) => {
      const text = duration(now - Number(el.dataset.since));
      if (el.textContent !== text) el.textContent = text;
    });
  }

  function openDetails(root) {
    const all = $$("details[id]", root);
    if (root.matches("details[id]")) all.push(root);
    return all.filter((d) => d.open).map((d) => d.id);
  }

  function swapLive(doc) {
    $$("[data-live][id]").forEach((old) => {
      const fresh = doc.getElementById(old.id);
      if (!fresh) return;
      const html = fresh.outerHTML;
      if (served.get(old) === html) return;  // unchanged: keep focus and what the user opened
      const active = document.activeElement;
      const focusId = active && old.contains(active) ? active.id : "";
      const opened = openDetails(old);
      const node = document.importNode(fresh, true);
      old.replaceWith(node);
      served.set(node, html);
      opened.forEach((id) => { const d = document.getElementById(id); if (d) d.open = true; });
      if (focusId) { const f = document.getElementById(focusId); if (f) f.focus(); }
    });
    $$("[data-sync][id]").forEach((el) => {
      const fresh = doc.getElementById(el.id);
      if (fresh) el.disabled = fresh.hasAttribute("disabled");
    });
    tick();
  }

  let reloading = null, again = false;
  async function reloadLive() {
    if (reloading) { again = true; return reloading; }
    reloading = (async () => {
      do {
        again = false;
        try {
          const res = await fetch(window.location.pathname,
                                  { credentials: "same-origin", headers: { Accept: "text/html" } });
          if (res.redirected && new URL(res.url).pathname !== window.location.pathname) {
            window.location.href = res.url;  // signed out or session expired
            return;
          }
          if (res.ok) {
            const doc = new DOMParser().parseFromString(await res.text(), "text/html");
            readClock(doc);
            swapLive(doc);
          }
        } catch (e) { /* the box is restarting: the next event or poll tries again */ }
      } while (again);
    })();
    try { await reloading; } finally { reloading = null; }
  }

  function startLive(pollSeconds) {
    readClock(document);
    $$("[data-live][id]").forEach((el) => served.set(el, el.outerHTML));
    setInterval(tick, 1000);
    liveUpdates(reloadLive);
    // state with no event of its own (GSM signal, what a simulated phone hears) is polled
    setInterval(() => { if (document.visibilityState === "visible") reloadLive(); },
                pollSeconds * 1000);
  }

  // ---- live updates: SSE read with fetch, so events of every type are seen
  // (EventSource only delivers named events to listeners registered per name).
  function liveUpdates(onEvent) {
    const status = $("#live");
    let timer = null;
    const changed = () => { clearTimeout(timer); timer = setTimeout(onEvent, 250); };
    async function connect() {
      try {
        const res = await fetch("/api/v1/events", { credentials: "same-origin" });
        if (res.status === 401) { window.location.href = "/login"; return; }
        if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
        if (status) status.textContent = "live updates: on";
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (block.split("\n").some((line) => line.startsWith("data:"))) changed();
          }
        }
      } catch (e) { /* reconnect below */ }
      if (status) status.textContent = "live updates: reconnecting…";
      setTimeout(connect, 3000);
    }
    connect();
  }

  // ---- pages
  const pages = {};

  pages.setup = function () {
    const form = $("#setup-form");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (form.password.value !== form.confirm.value) {
        say("The two passwords differ.");
        return;
      }
      const r = await api("POST", "/auth/setup", { password: form.password.value });
      if (r.ok) window.location.href = "/";
      else if (r.status === 409) window.location.href = "/login";
      else {
        // the server names the rule broken; the whole rule follows, so one try is enough
        const err = r.data.error || "setup failed";
        const rule = $("#policy");
        say(err.charAt(0).toUpperCase() + err.slice(1) + "." + (rule ? " " + rule.textContent : ""));
      }
    });
  };

  pages.login = function () {
    const form = $("#login-form");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = await api("POST", "/auth/login",
                          { username: form.username.value, password: form.password.value });
      if (r.ok) window.location.href = "/";
      else say(r.data.error || "sign-in failed");
    });
  };

  pages.dashboard = function () {
    startLive(15);
  };

  pages.config = function () {
    const form = $("#config-form");
    const issues = $("#issues");

    function documentOrNull() {
      issues.replaceChildren();
      try {
        return JSON.parse(form.document.value);
      } catch (e) {
        say("Not valid JSON: " + e.message);
        return null;
      }
    }
    function showIssues(r) {
      say(r.data.error || "failed");
      issues.replaceChildren();
      (r.data.issues || []).forEach((i) => {
        issues.appendChild(document.createElement("li")).textContent =
          (i.path || "(document)") + ": " + i.message;
      });
    }

    $("#validate").addEventListener("click", async () => {
      const doc = documentOrNull();
      if (doc === null) return;
      const r = await api("POST", "/config/validate", { document: doc });
      if (r.ok) say("The configuration is valid.", true);
      else showIssues(r);
    });

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const doc = documentOrNull();
      if (doc === null) return;
      const r = await api("PUT", "/config", {
        document: doc, comment: form.comment.value,
        revision: Number(form.dataset.revision),
      });
      if (r.ok) {
        say("Saved and applied as revision " + r.data.revision + ".", true);
        setTimeout(() => window.location.reload(), 800);
      } else showIssues(r);
    });

    $$("button.rollback").forEach((b) => b.addEventListener("click", async () => {
      const rev = Number(b.dataset.revision);
      if (!window.confirm("Roll the configuration back to revision " + rev + "?")) return;
      const r = await api("POST", "/config/rollback", { revision: rev });
      if (r.ok) window.location.reload();
      else showIssues(r);
    }));
  };

  // ---- simulator: every control names its API path in data-sim; "{name}" in the path is
  // filled from the field of that name in the device's data-sim-scope (the E1 B-channel).
  function errorWords(r) {
    if (r.status === 0) return "the box does not answer";
    if (r.status === 403) return r.data.error || "your role may not do this";
    if (r.status >= 500) return "the box failed" + (r.data.id ? " (error id " + r.data.id + ")" : "");
    return r.data.error || "refused (HTTP " + r.status + ")";
  }

  pages.sim = function () {
    async function act(el, path, body) {
      const scope = el.closest("[data-sim-scope]") || document;
      const filled = path.replace(/\{(\w+)\}/g, (_, name) => {
        const field = $('[name="' + name + '"]', scope);
        return field ? encodeURIComponent(field.value) : "";
      });
      const label = el.dataset.label || "Action";
      const r = await api("POST", "/sim/" + filled, body);
      const msg = $(".message", scope);
      if (msg) {
        msg.textContent = r.ok ? label + ": done." : label + " refused: " + errorWords(r);
        msg.className = "message " + (r.ok ? "ok" : "error");
        clearTimeout(msg.dataset.timer);
        if (r.ok) msg.dataset.timer = setTimeout(() => { msg.textContent = ""; }, 4000);
      }
      reloadLive();
      setTimeout(reloadLive, 700);  // the simulated devices answer a moment later
      return r.ok;
    }
    document.addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-sim]");
      if (!b || b.disabled) return;
      act(b, b.dataset.sim, b.dataset.digits ? { digits: b.dataset.digits } : {});
    });
    document.addEventListener("submit", async (ev) => {
      const f = ev.target.closest("form[data-sim]");
      if (!f) return;
      ev.preventDefault();
      const body = {};
      $$("input", f).forEach((i) => { const v = i.value.trim(); body[i.name] = v === "" ? null : v; });
      const ok = await act(f, f.dataset.sim, body);
      if (ok && f.elements.digits) f.elements.digits.value = "";
    });
    startLive(2);
  };

  function signOut() {
    const link = $("#signout");
    if (!link) return;
    link.addEventListener("click", async (ev) => {
      ev.preventDefault();
      await api("POST", "/auth/logout");
      window.location.href = "/login";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    signOut();
    const page = pages[document.body.dataset.page];
    if (page) page();
  });
})();
