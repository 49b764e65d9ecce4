/* dpbench view: shared helpers. Every text from the data is inserted as text (createTextNode /
   textContent), never parsed as HTML: review texts, item titles and model names are untrusted. */
"use strict";
const DATA = JSON.parse(document.getElementById("dpbench-data").textContent);
const META = DATA.meta, METRICS = DATA.metrics, RUNS = DATA.runs;
const ITEMS = DATA.items, REVIEWS = DATA.reviews, EX = DATA.ex;
const E = {id: 0, bench: 1, split: 2, user: 3, item: 4, ts: 5, rating: 6, rtitle: 7, ref: 8, desc: 9, nhist: 10, hist: 11};
const R = {id: 0, user: 1, item: 2, ts: 3, rating: 4, title: 5, text: 6};
const EX_INDEX = new Map(EX.map((e, i) => [e[E.id], i]));
/* OUT[k][i]: run k's output on example i (undefined where the run does not cover it) */
const OUT = RUNS.map((_, k) => {
  const a = new Array(EX.length);
  for (const o of DATA.out[k]) a[o.e] = o;
  return a;
});

function add(node, kid) {
  if (kid === null || kid === undefined || kid === false) return;
  if (Array.isArray(kid)) { for (const k of kid) add(node, k); return; }
  node.appendChild(typeof kid === "object" ? kid : document.createTextNode(String(kid)));
}

/* el("div", {class: "x", data: {ts: 1}, onclick: f}, "text", child, ...): attribute names are
   always ours; values and children from the data only ever become text. */
function el(tag, props, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") n.className = v;
    else if (k === "title") n.title = String(v);
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) { if (dv !== undefined && dv !== null) n.dataset[dk] = String(dv); }
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, String(v));
  }
  add(n, kids);
  return n;
}

function itemTitle(ix) { const it = ITEMS[ix]; return it && it[1] ? it[1] : (it ? it[0] : "—"); }
function fmtDate(ts) {
  if (typeof ts !== "number") return "—";
  const d = new Date(ts);
  return isNaN(d.getTime()) ? "—" : d.toISOString().slice(0, 10);
}
function fmtDateTime(ts) {
  if (typeof ts !== "number") return "—";
  const d = new Date(ts);
  return isNaN(d.getTime()) ? "—" : d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
}
function fmtGap(ms) {
  const s = Math.abs(ms) / 1000;
  if (s < 60) return Math.round(s) + " s";
  if (s < 3600) return Math.round(s / 60) + " min";
  if (s < 86400) return (s / 3600).toFixed(1) + " h";
  const d = s / 86400;
  return d < 730 ? Math.round(d) + " days" : (d / 365.25).toFixed(1) + " years";
}
function fmtMetric(mi, v) {
  if (v === null || v === undefined) return "—";
  return METRICS[mi][3] === 100 ? v.toFixed(2) : v.toFixed(3);
}
function fmtDelta(mi, v) {
  if (v === null || v === undefined) return "—";
  return (v > 0 ? "+" : "") + fmtMetric(mi, v);
}
function stars(r) {
  if (typeof r !== "number" || !r) return "";
  const n = Math.max(0, Math.min(5, Math.round(r)));
  return "★".repeat(n) + "☆".repeat(5 - n) + " " + r.toFixed(1);
}
function statusOf(o) { return o ? (o.s || "ok") : "not in run"; }
/* output-health flags plus a non-ok status (error, empty, missing) */
function flagsOf(o) {
  if (!o) return [];
  const f = (o.h || []).slice();
  if (o.s && o.s !== "ok" && !f.includes(o.s)) f.push(o.s);
  return f;
}
function score(k, i, mi) { const o = OUT[k][i]; return o && o.m ? (o.m[mi] ?? null) : null; }
function delta(k, i, mi) {
  const b = RUNS[k].base;
  if (b === null || b === undefined || b === k) return null;
  const a = score(k, i, mi), c = score(b, i, mi);
  return a === null || c === null ? null : a - c;
}

function showManifest(k) {
  const d = document.getElementById("manifest-dialog");
  const r = RUNS[k];
  d.replaceChildren(
    el("div", {class: "dlg-head"}, el("h3", null, "Run settings: ", r.label),
       el("button", {class: "close", onclick: () => d.close()}, "Close")),
    el("p", {class: "muted"}, r.id, " · ", r.model, " · ", r.backend, " · ", r.split,
       r.scored ? "" : " · not scored"),
    r.notes.length ? el("ul", {class: "notes"}, r.notes.map(n => el("li", null, n))) : null,
    el("pre", {class: "manifest"}, JSON.stringify(r.manifest, null, 2)));
  d.showModal();
}
function runChip(k, extra) {
  const r = RUNS[k];
  return el("button", {class: "run-chip m-" + (k % 8), title: "run settings (manifest) of " + r.id,
                       data: {run: k}, onclick: (ev) => { ev.stopPropagation(); showManifest(k); }},
            r.label, extra ? el("span", {class: "chip-model"}, " · " + r.model) : null);
}
function badge(text, cls) { return el("span", {class: "badge " + (cls || "b-" + text)}, text); }
