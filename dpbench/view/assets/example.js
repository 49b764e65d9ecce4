/* One example's page: the target, each run's output beside the reference (shared words marked), its
   metrics, health and intermediates (retrieved reviews, DPL's items, peers and differences, PAG's
   profile, DEP's slots), and the user's history, newest first. */
const WORD = /[\p{L}\p{N}]+(?:'\p{L}+)?/gu;

function wordSet(text) {
  const s = new Set();
  for (const m of (text || "").toLowerCase().matchAll(WORD)) s.add(m[0]);
  return s;
}
/* the text with each word that also occurs in `other` (a Set of lowercase words) in a <mark> */
function marked(text, other, cls) {
  const box = el("div", {class: cls || "text"});
  text = text || "";
  let last = 0;
  for (const m of text.matchAll(WORD)) {
    if (m.index > last) add(box, text.slice(last, m.index));
    add(box, other.has(m[0].toLowerCase()) ? el("mark", {class: "ov"}, m[0]) : m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) add(box, text.slice(last));
  return box;
}
function overlapNote(a, b) {
  const wa = wordSet(a), wb = wordSet(b);
  let n = 0;
  for (const w of wa) if (wb.has(w)) n++;
  return `${n} of ${wa.size} distinct words also in the reference`;
}

function histPositions(e) { const m = new Map(); for (const [pos, ri] of e[E.hist]) m.set(ri, pos); return m; }
function reviewBlock(ri, cls, extra) {
  const r = REVIEWS[ri];
  if (!r) return el("div", {class: "review missing"}, "review not embedded");
  return el("div", {class: "review " + (cls || ""), data: {ts: r[R.ts], review: r[R.id]}},
    el("div", {class: "rhead"}, el("span", {class: "date"}, fmtDate(r[R.ts])), " · ", stars(r[R.rating]), " · ",
       el("span", {class: "ititle"}, itemTitle(r[R.item])), extra || null),
    r[R.title] ? el("div", {class: "rtitle"}, r[R.title]) : null,
    el("div", {class: "rtext"}, r[R.text]));
}
function peerBlock(ri, targetTs) {
  const r = REVIEWS[ri];
  if (!r) return el("div", {class: "peer missing"}, "peer not embedded");
  const gap = targetTs - r[R.ts];
  const when = gap > 0 ? el("span", {class: "before"}, `✓ ${fmtGap(gap)} before the target`)
                       : el("span", {class: "leak"}, "⚠ not before the target (leak)");
  return el("div", {class: "peer" + (gap > 0 ? "" : " leaky"), data: {ts: r[R.ts]}},
    el("div", {class: "rhead"}, r[R.user] ? [el("span", {class: "puser"}, "user " + r[R.user]), " · "] : null,
       el("span", {class: "date"}, fmtDateTime(r[R.ts])), " · ", when, " · ", stars(r[R.rating])),
    r[R.title] ? el("div", {class: "rtitle"}, r[R.title]) : null,
    META.caps.peer ? el("div", {class: "rtext"}, r[R.text]) : el("div", {class: "muted small"}, "(peer texts not embedded at this page size)"));
}

function metricsTable(k, i) {
  if (!METRICS.length) return el("p", {class: "muted"}, RUNS[k].scored ? "no per-example metrics" : "not scored yet (dpbench score)");
  const hasBase = RUNS[k].base !== null && RUNS[k].base !== k;
  return el("table", {class: "metrics"},
    el("tr", null, el("th", null, "metric"), el("th", null, "value"), hasBase ? el("th", null, "Δ vs " + RUNS[RUNS[k].base].label) : null),
    METRICS.map((m, mi) => {
      const d = hasBase ? delta(k, i, mi) : null;
      return el("tr", {data: {metric: m[0]}}, el("td", null, m[1]), el("td", {class: "num"}, fmtMetric(mi, score(k, i, mi))),
                hasBase ? el("td", {class: "num delta " + (d > 0 ? "pos" : d < 0 ? "neg" : "")}, fmtDelta(mi, d)) : null);
    }));
}

function retrievedPanel(t, e) {
  const pos = histPositions(e);
  return el("details", {class: "panel retrieved"}, el("summary", null, `Retrieved reviews (${t.ret.length})`),
    t.ret.map(([ri, sc], j) => el("div", {class: "ret"},
      reviewBlock(ri, "", el("span", {class: "muted"}, ` · rank ${j + 1} · history #${pos.has(ri) ? pos.get(ri) : "?"}` +
                                                      (sc !== null ? ` · score ${sc}` : ""))))));
}
function dplPanel(t, e) {
  const items = (t.dpl || []).map(([ii, h, pos, bm25, na, peers, diff], j) => el("div", {class: "dpl-item"},
    el("h5", null, `${j + 1}. `, itemTitle(ii), el("span", {class: "muted"},
       ` · history #${pos ?? "?"} · BM25 ${bm25 ?? "—"} · ${na ?? "?"} leak-free peers, ${peers.length} representative`)),
    h !== null && h !== undefined ? el("div", {class: "own"}, el("div", {class: "label"}, "this user's review"), reviewBlock(h, "own-review")) : null,
    el("div", {class: "peers"}, el("div", {class: "label"}, "representative peers (target written ", fmtDateTime(e[E.ts]), ")"),
       peers.map(ri => peerBlock(ri, e[E.ts]))),
    el("div", {class: "difference"}, el("div", {class: "label"}, "difference"), el("div", {class: "rtext"}, diff))));
  return el("details", {class: "panel dpl", open: "open"},
    el("summary", null, `DPL: ${items.length} chosen item${items.length === 1 ? "" : "s"}` + (items.length ? "" : " (no item had enough leak-free peers)")),
    items,
    t.sum !== undefined ? el("div", {class: "summary"}, el("div", {class: "label"}, "summary (the profile the generation saw)"),
                             el("div", {class: "rtext"}, t.sum)) : null);
}
function slotsPanel(t, e) {
  const pos = histPositions(e);
  const filled = t.slots.filter(s => !s[0]).length;
  return el("details", {class: "panel slots", open: "open"},
    el("summary", null, `DEP slots: ${filled} filled, ${t.slots.length - filled} masked`),
    el("table", {class: "slots"}, el("tr", null, ["slot", "", "history #", "date", "item", "peers"].map(h => el("th", null, h))),
      t.slots.map(([masked, ri, np], j) => {
        const r = ri !== null && ri !== undefined ? REVIEWS[ri] : null;
        return el("tr", {class: "slot " + (masked ? "masked" : "filled")}, el("td", null, j),
          el("td", null, masked ? "masked" : "filled"), el("td", null, r && pos.has(ri) ? pos.get(ri) : "—"),
          el("td", null, r ? fmtDate(r[R.ts]) : "—"), el("td", null, r ? itemTitle(r[R.item]) : "(no history item with peers)"),
          el("td", {class: "num"}, np ?? "—"));
      })));
}

function runCard(k, i) {
  const o = OUT[k][i], e = EX[i], t = o.t || {};
  const ref = e[E.ref], pred = o.p || "";
  const set = t.set || {};
  return el("section", {class: "run-card", data: {run: k, method: RUNS[k].method}},
    el("div", {class: "card-head"}, runChip(k, true), badge(statusOf(o), "st-" + statusOf(o)),
       (o.h || []).map(f => badge(f)), o.fr ? el("span", {class: "muted"}, " finish: " + o.fr) : null,
       o.l ? el("span", {class: "muted"}, ` · ${o.l} s`) : null,
       set.truncation && (set.truncation.reviews_truncated || set.truncation.descriptions_truncated)
         ? el("span", {class: "muted"}, ` · prompt cut: ${set.truncation.reviews_truncated} reviews, ${set.truncation.descriptions_truncated} descriptions`) : null,
       set.prompt_truncated ? el("span", {class: "muted"}, " · prompt cut to max_prompt_tokens") : null),
    o.x ? el("div", {class: "error"}, "error: ", o.x) : null,
    el("div", {class: "pair"},
      el("div", {class: "col pred"}, el("div", {class: "label"}, "prediction"), pred ? marked(pred, wordSet(ref)) : el("div", {class: "muted"}, "(empty)"),
         el("div", {class: "muted small"}, overlapNote(pred, ref))),
      el("div", {class: "col ref"}, el("div", {class: "label"}, "reference"), marked(ref, wordSet(pred)))),
    metricsTable(k, i),
    o.raw ? el("details", {class: "panel raw"}, el("summary", null, "raw model output"), el("pre", null, o.raw)) : null,
    t.prof !== undefined ? el("details", {class: "panel profile", open: "open"}, el("summary", null, "PAG profile"), el("div", {class: "rtext"}, t.prof)) : null,
    t.dpl !== undefined ? dplPanel(t, e) : null,
    t.ret ? retrievedPanel(t, e) : null,
    t.slots ? slotsPanel(t, e) : null);
}

function historyPanel(e, i) {
  const used = new Map();  // review index -> what used it
  RUNS.forEach((r, k) => {
    const t = (OUT[k][i] || {}).t || {};
    for (const [ri] of t.ret || []) used.set(ri, [...(used.get(ri) || []), r.label + " retrieved"]);
    for (const it of t.dpl || []) used.set(it[1], [...(used.get(it[1]) || []), r.label + " item"]);
    (t.slots || []).forEach(([m, ri], j) => { if (!m) used.set(ri, [...(used.get(ri) || []), `${r.label} slot ${j}`]); });
  });
  const hist = e[E.hist];
  const shown = hist.length < e[E.nhist] ? `showing ${hist.length} of ${e[E.nhist]} (the newest ${META.caps.history} and those a method used)` : `${hist.length}`;
  return el("details", {class: "history", open: "open"}, el("summary", null, "History, newest first (", shown, ")"),
    el("div", {class: "hist-box"}, hist.map(([pos, ri]) => {
      const r = REVIEWS[ri];
      const late = r && r[R.ts] >= e[E.ts];
      return el("div", {class: "hist-entry" + (late ? " leaky" : ""), data: {pos: pos}},
        reviewBlock(ri, "", [el("span", {class: "muted"}, ` · #${pos}`), late ? el("span", {class: "leak"}, " ⚠ not before the target") : null,
                             (used.get(ri) || []).map(u => badge(u, "b-used"))]));
    })));
}

function showExample(i) {
  const e = EX[i], view = document.getElementById("example-view");
  document.getElementById("list-view").hidden = true;
  view.hidden = false;
  const p = ORDER.indexOf(i);
  const go = (q) => { if (q >= 0 && q < ORDER.length) location.hash = "#ex/" + encodeURIComponent(EX[ORDER[q]][E.id]); };
  const it = ITEMS[e[E.item]] || [e[E.item], "", ""];
  view.replaceChildren(
    el("nav", {class: "ex-nav"}, el("button", {id: "back", onclick: () => { location.hash = ""; }}, "← list"),
       el("button", {id: "prev", disabled: p > 0 ? null : "disabled", onclick: () => go(p - 1)}, "‹ previous"),
       el("button", {id: "next", disabled: p >= 0 && p < ORDER.length - 1 ? null : "disabled", onclick: () => go(p + 1)}, "next ›"),
       el("span", {class: "muted"}, p >= 0 ? ` ${p + 1} of ${ORDER.length} in the list` : " (not in the filtered list)"),
       el("span", {class: "muted small"}, " · keys ← → (j k), Esc")),
    el("section", {id: "example", class: "target", data: {id: e[E.id], targetTs: e[E.ts]}},
      el("h2", null, it[1] || it[0]),
      el("p", {class: "muted"}, `example ${e[E.id]} · ${e[E.bench]} · ${e[E.split]} · user ${e[E.user]} · item ${it[0]} · target written `,
         el("span", {class: "target-date"}, fmtDateTime(e[E.ts]))),
      el("p", null, el("span", {class: "stars"}, stars(e[E.rating])), " · review title: ", el("strong", {class: "rtitle"}, e[E.rtitle] || "—")),
      el("div", {class: "desc"}, el("div", {class: "label"}, "item description"), el("div", {class: "rtext"}, e[E.desc] || "(none)"))),
    historyPanel(e, i),
    el("div", {class: "runs"}, RUNS.map((_, k) => OUT[k][i] ? runCard(k, i) : null)));
  window.scrollTo(0, 0);
}
