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

  // ---- tables (same rules as pages.py: columns from the rows unless given)
  const TIME_KEYS = new Set(["start", "end", "answer", "answered", "ended", "started", "time",
                             "ts", "timestamp", "created", "at"]);

  function cell(key, value) {
    if (value === null || value === undefined) return "";
    if (TIME_KEYS.has(key) && typeof value === "number" && value > 1e8) {
      return new Date(value * 1000).toLocaleString();
    }
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function renderTable(table, rows, columns, empty) {
    if (!table) return;
    if (!columns) {
      columns = [];
      rows.forEach((r) => Object.keys(r).forEach((k) => {
        if (!columns.includes(k)) columns.push(k);
      }));
    }
    table.replaceChildren();
    const tbody = document.createElement("tbody");
    if (!rows.length) {
      const td = document.createElement("td");
      td.className = "empty";
      td.textContent = empty;
      tbody.appendChild(document.createElement("tr")).appendChild(td);
      table.appendChild(tbody);
      return;
    }
    const head = table.appendChild(document.createElement("thead")).insertRow();
    columns.forEach((c) => { head.appendChild(document.createElement("th")).textContent = c; });
    rows.forEach((r) => {
      const tr = tbody.insertRow();
      columns.forEach((c) => { tr.insertCell().textContent = cell(c, r[c]); });
    });
    table.appendChild(tbody);
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
      else say(r.data.error || "setup failed");
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
    async function refresh() {
      const [info, ports, calls, cdr] = await Promise.all([
        api("GET", "/info"), api("GET", "/ports"), api("GET", "/calls"),
        api("GET", "/cdr?limit=20"),
      ]);
      if (info.ok) {
        const dl = $("#info");
        dl.replaceChildren();
        Object.entries(info.data).forEach(([k, v]) => {
          dl.appendChild(document.createElement("dt")).textContent = k;
          dl.appendChild(document.createElement("dd")).textContent = cell(k, v);
        });
      }
      if (ports.ok) renderTable($("#ports"), ports.data.ports, ["id", "kind", "slot", "state"],
                                "no ports");
      if (calls.ok) renderTable($("#calls"), calls.data.calls,
                                ["id", "state", "caller", "called", "start"], "no calls");
      if (cdr.ok) renderTable($("#cdrs"), cdr.data.cdrs, null, "no call records yet");
    }
    liveUpdates(refresh);
    refresh();
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

  pages.sim = function () {
    const pre = $("#sim-state");
    async function refresh() {
      const [state, ports] = await Promise.all([api("GET", "/sim/state"), api("GET", "/ports")]);
      if (state.ok && pre) pre.textContent = JSON.stringify(state.data, null, 2);
      if (ports.ok) {
        const byId = new Map(ports.data.ports.map((p) => [String(p.id), p.state]));
        $$("#sim-trunks tbody tr, #sim-phones tbody tr").forEach((tr) => {
          const id = tr.cells[0].textContent;
          if (byId.has(id)) tr.cells[1].textContent = cell("state", byId.get(id));
        });
      }
    }
    async function act(path, body) {
      const r = await api("POST", "/sim/" + path, body || {});
      say(r.ok ? path.replace(/\//g, " ") + ": done" : (r.data.error || "failed"), r.ok);
      refresh();
    }
    $$("button.sim-action").forEach((b) => b.addEventListener("click", () => act(b.dataset.sim)));
    $$("form.sim").forEach((f) => f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const body = {};
      $$("input", f).forEach((i) => { body[i.name] = i.value.trim() === "" ? null : i.value.trim(); });
      act(f.dataset.sim, body);
    }));
    liveUpdates(refresh);
    setInterval(refresh, 3000);  // device state (ringing, digits heard) has no event of its own
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
