// A small browser for /openapi.json: every operation with its parameters and answers; GETs can be tried.
"use strict";

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

function schemaName(s) {
  if (!s) return "";
  if (s.$ref) return s.$ref.split("/").pop();
  if (s.type === "array") return schemaName(s.items) + "[]";
  return Array.isArray(s.type) ? s.type.join(" | ") : (s.type || "");
}

function tryIt(path, params, out) {
  const form = el("form", { class: "try" });
  const inputs = {};
  for (const p of params) {
    const i = el("input", { name: p.name, placeholder: p.name + (p.required ? " (required)" : "") });
    inputs[p.name] = [p, i];
    form.append(i);
  }
  form.append(el("button", { type: "submit" }, "Try"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let url = path;
    const q = new URLSearchParams();
    for (const [name, [p, i]] of Object.entries(inputs)) {
      if (!i.value) continue;
      if (p.in === "path") url = url.replace("{" + name + "}", encodeURIComponent(i.value));
      else q.append(name, i.value);
    }
    const qs = q.toString();
    const r = await fetch(url + (qs ? "?" + qs : ""));
    const text = await r.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON */ }
    out.textContent = r.status + " " + r.statusText + "\n" + shown.slice(0, 20000);
  });
  return form;
}

async function main() {
  const doc = await (await fetch("/openapi.json")).json();
  document.getElementById("title").textContent = doc.info.title;
  document.getElementById("intro").textContent = doc.info.description;
  const ops = document.getElementById("ops");
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const box = el("section", { class: "panel op" });
      box.append(el("h2", {}, el("span", { class: "method" }, method.toUpperCase()), " ", el("code", {}, path)));
      box.append(el("p", {}, op.summary || ""));
      const params = op.parameters || [];
      if (params.length) {
        const ul = el("ul");
        for (const p of params) ul.append(el("li", {}, el("code", {}, p.name), ` (${p.in}${p.required ? ", required" : ""}) ${p.description || ""}`));
        box.append(ul);
      }
      if (op.requestBody) {
        const s = op.requestBody.content["application/json"].schema;
        box.append(el("p", {}, "Body: ", el("code", {}, schemaName(s))));
      }
      const answers = Object.entries(op.responses).map(([c, r]) => `${c} ${r.description}`).join("; ");
      box.append(el("p", { class: "hint" }, answers));
      if (method === "get" && path !== "/stream") {
        const out = el("pre", { class: "out" });
        box.append(tryIt(path, params, out), out);
      }
      ops.append(box);
    }
  }
  const schemas = el("section", { class: "panel op" }, el("h2", {}, "Schemas"));
  for (const [name, s] of Object.entries(doc.components.schemas)) {
    schemas.append(el("h3", {}, name), el("pre", {}, JSON.stringify(s, null, 1)));
  }
  ops.append(schemas);
}

main();
