// plc-emulator web HMI: overview drawn from /overview, live values from /stream (SSE read with fetch so
// a bearer token can be sent), faceplates, trends, alarms, faults and simulation control.
// No build step and no third-party code. Every change goes through the REST API.
"use strict";

const S = {
  overview: null, tags: {}, values: {}, alarms: [], loop: null, trendTag: null, series: [], gaps: [],
  time: 0, token: sessionStorage.getItem("plc-token") || "", role: sessionStorage.getItem("plc-role") || "",
};
const $ = (sel) => document.querySelector(sel);
const PRI_TEXT = { 4: "!", 3: "3", 2: "2", 1: "1" };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function say(text, isError) {
  const m = $("#message");
  m.textContent = text;
  m.className = "mono" + (isError ? " err" : "");
}

async function api(method, path, body) {
  const headers = { "X-PLC-Request": "hmi" };
  if (S.token) headers.Authorization = "Bearer " + S.token;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    const detail = data && data.detail ? data.detail : r.statusText;
    say(`${r.status}: ${detail}`, true);
    const err = new Error(detail);
    err.status = r.status;
    throw err;
  }
  return data;
}

// ------------------------------------------------------------------ values
function fmt(key, v) {
  const t = S.tags[key];
  if (v === null || v === undefined) return "----";
  if (t && t.states && t.states.length && (t.kind === "discrete" || t.kind === "multistate")) {
    return t.states[Math.round(v)] || String(v);
  }
  const p = t ? Math.min(Math.max(t.precision, 0), 4) : 2;
  return Number(v).toFixed(p);
}

function severity(code) {
  const top = (code >>> 30) & 3;
  return top === 0 ? "good" : top === 1 ? "uncertain" : "bad";
}

function paint(key) {
  const entry = S.values[key];
  if (!entry) return;
  const [v, code] = entry;
  const sev = severity(code);
  for (const node of document.querySelectorAll(`[data-value="${CSS.escape(key)}"]`)) {
    node.firstChild.textContent = fmt(key, v);
    node.classList.toggle("q-bad", sev === "bad");
    node.classList.toggle("q-uncertain", sev === "uncertain");
    node.dataset.quality = sev;
  }
}

function valueBox(key) {
  const t = S.tags[key];
  const unit = t && t.unit && t.kind === "analog" ? el("span", { class: "u" }, t.unit) : null;
  return el("span", { class: "value mono", "data-value": key }, document.createTextNode("----"), unit);
}

// ------------------------------------------------------------------ overview (from the plant)
function renderOverview() {
  const root = $("#overview");
  root.replaceChildren();
  S.overview.units.forEach((u, i) => {
    const wrap = el("div", { class: "unit-wrap" });
    // the stream from the previous unit is drawn in front of this one, so it wraps with it
    wrap.append(el("div", { class: "stream", title: i > 0 ? `${S.overview.units[i - 1].name} to ${u.name}` : "" }, i > 0 ? "\u2192" : ""));
    const box = el("section", { class: "unit", "data-unit": u.name }, el("h3", {}, u.name), el("div", { class: "desc" }, u.description));
    wrap.append(box);
    for (const key of u.instruments) {
      const t = S.tags[key];
      box.append(el("div", { class: "inst", "data-inst": key, title: t ? t.description : key, onclick: () => selectTrend(key) },
        el("span", { class: "name" }, t ? t.name : key), valueBox(key)));
    }
    for (const lp of u.loops) {
      const row = el("div", { class: "loop", "data-loop": lp.id, title: lp.description, onclick: () => selectLoop(lp) },
        el("span", { class: "name" }, `${lp.id} PV`), lp.pv ? valueBox(lp.pv) : el("span", { class: "value mono" }, "n/a"),
        el("span", { class: "name" }, "SP / OUT"),
        el("span", {}, lp.sp ? valueBox(lp.sp) : "", lp.out ? valueBox(lp.out) : ""));
      row.append(el("div", { class: "bar", "data-bar": lp.id }, el("div", { class: "pv" }), el("div", { class: "sp" })));
      box.append(row);
    }
    root.append(wrap);
  });
}

function paintBars() {
  for (const u of S.overview.units) {
    for (const lp of u.loops) {
      const bar = document.querySelector(`[data-bar="${lp.id}"]`);
      const t = S.tags[lp.sp || lp.pv];
      if (!bar || !t) continue;
      const [lo, hi] = t.range;
      const pct = (k) => (k && S.values[k] && S.values[k][0] !== null ? Math.max(0, Math.min(100, ((S.values[k][0] - lo) / (hi - lo)) * 100)) : 0);
      bar.querySelector(".pv").style.width = pct(lp.pv) + "%";
      bar.querySelector(".sp").style.left = pct(lp.sp) + "%";
    }
  }
}

// ------------------------------------------------------------------ faceplate
function selectLoop(lp) {
  S.loop = lp;
  document.querySelectorAll(".loop.selected").forEach((n) => n.classList.remove("selected"));
  const row = document.querySelector(`[data-loop="${lp.id}"]`);
  if (row) row.classList.add("selected");
  const fp = $("#faceplate");
  const write = async (key, input) => {
    if (!key) return;
    const v = Number(input.value);
    try {
      const r = await api("PUT", `/tags/${encodeURIComponent(key)}`, { value: input.value.trim() === "" ? null : v });
      say(`${key} = ${r.value} (applies at tick ${r.applies_at_tick})`);
    } catch (_) { /* shown by api() */ }
  };
  const setMode = async (m) => {
    try {
      await api("PUT", `/tags/${encodeURIComponent(lp.mode)}`, { value: m });
      say(`${lp.id} mode ${m}`);
    } catch (_) { /* shown */ }
  };
  const spIn = el("input", { id: "fp-sp-input", type: "number", step: "any" });
  const outIn = el("input", { id: "fp-out-input", type: "number", step: "any" });
  fp.replaceChildren(
    el("h2", {}, `Faceplate ${lp.id}`), el("p", { class: "hint" }, lp.description),
    el("table", {},
      el("tr", {}, el("td", {}, "PV"), el("td", { id: "fp-pv" }, lp.pv ? valueBox(lp.pv) : "n/a"), el("td"), el("td")),
      el("tr", {}, el("td", {}, "SP"), el("td", { id: "fp-sp" }, lp.sp ? valueBox(lp.sp) : "n/a"), el("td", {}, spIn),
        el("td", {}, el("button", { id: "fp-sp-set", onclick: () => write(lp.sp, spIn) }, "Set"))),
      el("tr", {}, el("td", {}, "OUT"), el("td", { id: "fp-out" }, lp.out ? valueBox(lp.out) : "n/a"), el("td", {}, outIn),
        el("td", {}, el("button", { id: "fp-out-set", onclick: () => write(lp.out, outIn) }, "Set"))),
      el("tr", {}, el("td", {}, "Mode"), el("td", { id: "fp-mode" }, lp.mode ? valueBox(lp.mode) : "n/a"),
        el("td", {}, el("button", { id: "fp-auto", onclick: () => setMode("AUTO") }, "AUTO"),
          el("button", { id: "fp-man", onclick: () => setMode("MAN") }, "MAN")), el("td")),
      el("tr", {}, el("td", {}, "Valve"), el("td", {}, lp.valve ? valueBox(lp.valve) : "n/a"), el("td"), el("td"))));
  for (const k of [lp.pv, lp.sp, lp.out, lp.mode, lp.valve]) if (k) paint(k);
  if (lp.pv) selectTrend(lp.pv);
}

// ------------------------------------------------------------------ trends
async function selectTrend(key) {
  S.trendTag = key;
  S.series = [];
  S.gaps = [];
  $("#trend-tag").textContent = key;
  document.querySelectorAll(".inst.selected").forEach((n) => n.classList.remove("selected"));
  const row = document.querySelector(`[data-inst="${CSS.escape(key)}"]`);
  if (row) row.classList.add("selected");
  try {
    let page = await api("GET", `/history?tag=${encodeURIComponent(key)}&limit=5000`);
    for (let n = 0; page && n < 20; n++) {  // bounded: at most 20 pages (100,000 samples)
      for (const s of page.samples) S.series.push([s.t, s.value]);
      S.gaps.push(...page.gaps.map((g) => g.t));
      if (!page.next) break;
      page = await api("GET", `/history?tag=${encodeURIComponent(key)}&limit=5000&page=${page.next}`);
    }
    $("#trend-note").textContent = `last hour from the historian (${S.series.length} samples), then live`;
  } catch (e) {
    $("#trend-note").textContent = e.status === 503 ? "no historian: live values only" : "history unavailable";
  }
  drawTrend();
}

function drawTrend() {
  const c = $("#trend");
  const ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  if (!S.trendTag) return;
  const t1 = S.time || (S.series.length ? S.series[S.series.length - 1][0] : 0);
  const first = S.series.length ? S.series[0][0] : t1;
  const t0 = Math.max(t1 - 3600, Math.min(first, t1 - 60));  // at most the last hour, at least a minute
  const span = t1 - t0;
  const pts = S.series.filter(([t]) => t >= t0);
  const vals = pts.map(([, v]) => v).filter((v) => v !== null);
  if (!vals.length) return;
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.1;
  lo -= pad; hi += pad;
  const x = (t) => ((t - t0) / span) * (c.width - 50) + 45;
  const y = (v) => c.height - 16 - ((v - lo) / (hi - lo)) * (c.height - 26);
  ctx.strokeStyle = "#aaa";
  ctx.fillStyle = "#444";
  ctx.font = "10px monospace";
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    ctx.beginPath(); ctx.moveTo(45, y(v)); ctx.lineTo(c.width - 5, y(v)); ctx.stroke();
    ctx.fillText(v.toPrecision(4), 2, y(v) + 3);
  }
  for (let i = 0; i <= 3; i++) {
    const t = t0 + (span * i) / 3;
    ctx.fillText(new Date(t * 1000).toISOString().slice(11, 19), Math.min(x(t) - 20, c.width - 50), c.height - 1);
  }
  ctx.fillStyle = "rgba(192,0,192,0.25)";
  for (const g of S.gaps) if (g >= t0) ctx.fillRect(x(g) - 2, 0, 4, c.height);
  ctx.strokeStyle = "#1f3f6f";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let pen = false;
  for (const [t, v] of pts) {
    if (v === null) { pen = false; continue; }  // Bad quality: a hole, not a line
    if (pen) ctx.lineTo(x(t), y(v)); else ctx.moveTo(x(t), y(v));
    pen = true;
  }
  ctx.stroke();
}

// ------------------------------------------------------------------ alarms
async function loadAlarms() {
  try {
    const a = await api("GET", "/alarms");
    S.alarms = a.alarms;
    $("#alarm-counts").textContent = `${a.active_count} active, ${a.unacked_count} unacked`;
    renderAlarms();
  } catch (_) { /* shown */ }
}

function renderAlarms() {
  const body = $("#alarms tbody");
  const rows = S.alarms.filter((a) => a.state !== "NORMAL")
    .sort((a, b) => (b.acked ? 0 : 1) - (a.acked ? 0 : 1) || b.priority - a.priority || a.id.localeCompare(b.id));
  const hidden = (a) => a.state === "SUPPRESSED" || a.state === "OUT_OF_SERVICE";
  body.replaceChildren(...rows.map((a) => el("tr", { class: hidden(a) ? "hidden-state" : a.acked ? "" : "unacked", "data-alarm": a.id },
    el("td", { class: `pri p${a.priority}` }, PRI_TEXT[a.priority] || String(a.priority)),
    el("td", { class: "mono" }, a.id), el("td", {}, a.message), el("td", { class: "state" }, a.state),
    el("td", {},
      a.acked ? null : el("button", { class: "ack", onclick: () => alarmAction(a.id, "ack") }, "Ack"),
      a.state === "SHELVED" ? el("button", { class: "unshelve", onclick: () => alarmAction(a.id, "unshelve") }, "Unshelve")
        : hidden(a) ? null : el("button", { class: "shelve", onclick: () => shelve(a.id) }, "Shelve")))));
  const worst = {};
  for (const a of S.alarms) if (a.active && a.tag) worst[a.tag] = Math.max(worst[a.tag] || 0, a.priority);
  document.querySelectorAll("[data-inst]").forEach((n) => {
    for (let p = 1; p <= 4; p++) n.classList.toggle(`alm-${p}`, worst[n.dataset.inst] === p);
  });
}

async function alarmAction(id, action, body) {
  try {
    await api("POST", `/alarms/${encodeURIComponent(id)}/${action}`, body);
    say(`${action} ${id}`);
  } catch (_) { /* shown */ }
}

function shelve(id) {
  const reason = $("#shelve-reason").value.trim();
  if (!reason) { say("type a shelving reason first (ISA-18.2)", true); return; }
  alarmAction(id, "shelve", { duration: $("#shelve-duration").value, reason });
}

// ------------------------------------------------------------------ faults and simulation
function setupFaults() {
  const target = $("#fault-target"), kind = $("#fault-kind");
  const targets = S.overview.fault_targets;
  target.replaceChildren(...targets.map((f) => el("option", { value: f.target }, `${f.label} (${f.target})`)));
  const kinds = () => {
    const f = targets.find((x) => x.target === target.value);
    kind.replaceChildren(...(f ? f.kinds : []).map((k) => el("option", { value: k }, k)));
  };
  target.addEventListener("change", kinds);
  kinds();
  $("#fault-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/faults", { target: target.value, params: { kind: kind.value } });
      say(`fault ${kind.value} on ${target.value}`);
    } catch (_) { /* shown */ }
  });
}

function renderFaults(list) {
  $("#faults").replaceChildren(...list.map((f) => el("li", { "data-fault": f.id }, `${f.id} ${f.params.kind || ""} `,
    el("button", { onclick: async () => { try { await api("DELETE", `/faults/${encodeURIComponent(f.id)}`); } catch (_) { /* shown */ } } }, "Clear"))));
}

function setupSim() {
  const sim = async (body) => { try { showSim(await api("POST", "/sim", body)); } catch (_) { /* shown */ } };
  $("#sim-pause").addEventListener("click", () => sim({ action: "pause" }));
  $("#sim-resume").addEventListener("click", () => sim({ action: "resume" }));
  $("#sim-step").addEventListener("click", () => sim({ action: "step", ticks: 1 }));
  $("#sim-speed").addEventListener("change", (e) => sim({ action: "speed", speed: Number(e.target.value) }));
}

function showSim(s) {
  $("#sim-state").textContent = s.paused ? "PAUSED" : `RUN ${s.speed === 0 ? "max" : s.speed + "x"}`;
  $("#sim-pause").classList.toggle("on", s.paused);
}

// ------------------------------------------------------------------ login
function setupLogin() {
  const box = $("#login");
  const render = () => {
    if (S.token) {
      box.replaceChildren(el("span", { id: "who" }, `${S.role}`), el("button", { id: "logout", onclick: () => {
        S.token = ""; S.role = ""; sessionStorage.clear(); render(); reconnect();
      } }, "Log out"));
      return;
    }
    const u = el("input", { id: "login-user", placeholder: "user", autocomplete: "username" });
    const p = el("input", { id: "login-password", type: "password", placeholder: "password", autocomplete: "current-password" });
    box.replaceChildren(el("form", { class: "login", onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const t = await api("POST", "/token", { username: u.value, password: p.value });
        S.token = t.access_token; S.role = `${u.value} (${t.role})`;
        sessionStorage.setItem("plc-token", S.token); sessionStorage.setItem("plc-role", S.role);
        say(`logged in as ${S.role}`); render(); reconnect();
      } catch (_) { /* shown */ }
    } }, u, p, el("button", { id: "login-submit", type: "submit" }, "Log in")));
  };
  render();
}

// ------------------------------------------------------------------ the stream
let streamAbort = null;

function apply(kind, ev) {
  S.time = ev.time;
  $("#clock").textContent = new Date(ev.time * 1000).toISOString().replace("T", " ").slice(0, 21) + " sim";
  for (const [k, v] of Object.entries(ev.values)) {
    S.values[k] = v;
    paint(k);
    if (k === S.trendTag) S.series.push([ev.time, v[0]]);
  }
  paintBars();
  if (ev.sim) showSim(ev.sim);
  if (ev.faults) renderFaults(ev.faults);
  if (kind === "snapshot" || (ev.alarms && ev.alarms.transitions.length)) loadAlarms();
  if (S.series.length > 200000) S.series.splice(0, S.series.length - 100000);
}

async function stream() {
  let delay = 500;
  for (;;) {
    streamAbort = new AbortController();
    try {
      const headers = S.token ? { Authorization: "Bearer " + S.token } : {};
      const r = await fetch("/stream", { headers, signal: streamAbort.signal });
      if (!r.ok) throw new Error(`stream ${r.status}`);
      $("#conn").textContent = "live";
      $("#conn").className = "mono";
      delay = 500;
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.startsWith(":")) continue;
          const lines = Object.fromEntries(block.split("\n").map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]));
          if (lines.data) apply(lines.event, JSON.parse(lines.data));
        }
      }
    } catch (e) {
      if (e.name === "AbortError") continue;
    }
    $("#conn").textContent = "disconnected";
    $("#conn").className = "mono q-bad";
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

function reconnect() { if (streamAbort) streamAbort.abort(); }

setInterval(drawTrend, 1000);

async function main() {
  setupLogin();
  S.overview = await api("GET", "/overview");
  for (const t of await api("GET", "/tags")) S.tags[t.tag] = t;
  $("#plant").textContent = S.overview.plant;
  document.title = `${S.overview.plant} - plc-emulator`;
  renderOverview();
  setupFaults();
  setupSim();
  stream();
}

main();
