/* The example list: filters, sorting, and a virtual list (only the rows in view are in the DOM). */
const ROW_H = 30;
const S = {q: "", run: -1, metric: 0, dmin: null, dmax: null, flag: "", split: "", sort: null, dir: 1};
let ORDER = EX.map((_, i) => i);
let SEARCH = null;
const LIST = {};

function searchText(i) {
  if (!SEARCH) {
    SEARCH = EX.map((e, j) => {
      const parts = [e[E.id], e[E.user], itemTitle(e[E.item]), e[E.rtitle], e[E.ref]];
      for (let k = 0; k < RUNS.length; k++) { const o = OUT[k][j]; if (o && o.p) parts.push(o.p); }
      return parts.join("\n").toLowerCase();
    });
  }
  return SEARCH[i];
}
function focusRun() { return S.run >= 0 ? S.run : -1; }
function hasDelta() { const k = focusRun(); return k >= 0 && RUNS[k].base !== null && RUNS[k].base !== k && METRICS.length > 0; }
function rowFlags(i) {
  if (S.run >= 0) return flagsOf(OUT[S.run][i]);
  const all = new Set();
  for (let k = 0; k < RUNS.length; k++) for (const f of flagsOf(OUT[k][i])) all.add(f);
  return [...all];
}
function sortValue(key, i) {
  const e = EX[i];
  if (key === "user") return e[E.user];
  if (key === "item") return itemTitle(e[E.item]).toLowerCase();
  if (key === "split") return e[E.split];
  if (key === "delta") return delta(S.run, i, S.metric);
  if (key === "flags") return rowFlags(i).length;
  if (key.startsWith("run:")) return score(+key.slice(4), i, S.metric);
  return i;
}

function applyFilters() {
  const q = S.q.trim().toLowerCase();
  const words = q ? q.split(/\s+/) : [];
  const useDelta = hasDelta() && (S.dmin !== null || S.dmax !== null);
  const out = [];
  for (let i = 0; i < EX.length; i++) {
    if (S.split && EX[i][E.split] !== S.split) continue;
    if (S.run >= 0 && !OUT[S.run][i]) continue;
    if (S.flag) {
      const f = rowFlags(i);
      if (S.flag === "*any" ? f.length === 0 : S.flag === "*none" ? f.length > 0 : !f.includes(S.flag)) continue;
    }
    if (useDelta) {
      const d = delta(S.run, i, S.metric);
      if (d === null || (S.dmin !== null && d < S.dmin) || (S.dmax !== null && d > S.dmax)) continue;
    }
    if (words.length) { const t = searchText(i); if (!words.every(w => t.includes(w))) continue; }
    out.push(i);
  }
  if (S.sort) {
    const key = S.sort, dir = S.dir;
    const vals = new Map(out.map(i => [i, sortValue(key, i)]));
    out.sort((a, b) => {
      const x = vals.get(a), y = vals.get(b);
      if (x === null || x === undefined) return (y === null || y === undefined) ? a - b : 1;  // empty cells last
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : x > y ? 1 : a - b) * dir;
    });
  }
  ORDER = out;
  LIST.count.textContent = `${ORDER.length} of ${EX.length} examples`;
  buildListHead();
  LIST.box.scrollTop = 0;
  renderRows();
}

function columns() {
  const cols = [["user", "user", "minmax(80px,1fr)"], ["item", "item", "minmax(160px,3fr)"], ["split", "split", "52px"]];
  RUNS.forEach((r, k) => cols.push(["run:" + k, r.label, "minmax(76px,1fr)", k]));
  if (hasDelta()) cols.push(["delta", "Δ vs baseline", "92px"]);
  cols.push(["flags", "health", "minmax(90px,1.2fr)"]);
  return cols;
}
function buildListHead() {
  const cols = columns();
  const tpl = cols.map(c => c[2]).join(" ");
  LIST.tpl = tpl;
  LIST.head.style.gridTemplateColumns = tpl;
  const mname = METRICS.length ? METRICS[S.metric][1] : "not scored";
  LIST.head.replaceChildren(...cols.map(([key, label, , k]) => {
    const arrow = S.sort === key ? (S.dir > 0 ? " ▲" : " ▼") : "";
    const cell = el("div", {class: "hcell" + (k !== undefined ? " num m-" + (k % 8) : ""), data: {sort: key},
                            title: k !== undefined ? `${RUNS[k].id}: ${mname} per example (click to sort)` : "click to sort",
                            onclick: () => { S.dir = S.sort === key ? -S.dir : (k !== undefined || key === "delta" ? -1 : 1); S.sort = key; applyFilters(); }},
                    label, arrow);
    if (k !== undefined) cell.appendChild(el("div", {class: "chip-model"}, RUNS[k].model));
    return cell;
  }));
}

function rowNode(pos) {
  const i = ORDER[pos], e = EX[i];
  const cells = [el("div", {class: "cell"}, e[E.user]), el("div", {class: "cell", title: itemTitle(e[E.item])}, itemTitle(e[E.item])),
                 el("div", {class: "cell"}, e[E.split])];
  for (let k = 0; k < RUNS.length; k++) {
    const o = OUT[k][i];
    const v = METRICS.length ? score(k, i, S.metric) : null;
    cells.push(el("div", {class: "cell num" + (k === S.run ? " focus" : ""), data: {run: k}},
                  o ? (METRICS.length ? fmtMetric(S.metric, v) : statusOf(o)) : "·"));
  }
  if (hasDelta()) {
    const d = delta(S.run, i, S.metric);
    cells.push(el("div", {class: "cell num delta " + (d > 0 ? "pos" : d < 0 ? "neg" : "")}, fmtDelta(S.metric, d)));
  }
  cells.push(el("div", {class: "cell flags"}, rowFlags(i).map(f => badge(f))));
  const row = el("div", {class: "row", data: {id: e[E.id], index: i},
                         onclick: () => { location.hash = "#ex/" + encodeURIComponent(e[E.id]); }}, cells);
  row.style.top = pos * ROW_H + "px";
  row.style.gridTemplateColumns = LIST.tpl;
  return row;
}
function renderRows() {
  const box = LIST.box;
  LIST.inner.style.height = Math.max(ORDER.length * ROW_H, 1) + "px";
  const first = Math.max(0, Math.floor(box.scrollTop / ROW_H) - 8);
  const last = Math.min(ORDER.length, Math.ceil((box.scrollTop + (box.clientHeight || 600)) / ROW_H) + 8);
  const rows = [];
  for (let p = first; p < last; p++) rows.push(rowNode(p));
  LIST.inner.replaceChildren(...rows);
  if (!ORDER.length) LIST.inner.appendChild(el("div", {class: "empty-list"}, "No example matches these filters."));
}

function option(value, text, selected) { return el("option", {value: value, selected: selected ? "selected" : null}, text); }
function buildControls() {
  const flags = new Set();
  for (let k = 0; k < RUNS.length; k++) for (const o of OUT[k]) for (const f of flagsOf(o)) flags.add(f);
  const splits = [...new Set(EX.map(e => e[E.split]))].sort();
  const num = (id, ph, key) => el("input", {id: id, type: "number", step: "0.01", placeholder: ph, class: "num-in",
                                            oninput: (ev) => { const v = ev.target.value; S[key] = v === "" ? null : Number(v); applyFilters(); }});
  const ctl = el("div", {class: "controls"},
    el("input", {id: "search", type: "search", placeholder: "search user, item, reference, outputs…",
                 oninput: debounce((ev) => { S.q = ev.target.value; applyFilters(); }, 120)}),
    el("label", null, "run ", el("select", {id: "f-run", onchange: (ev) => { S.run = +ev.target.value; syncDelta(); applyFilters(); }},
       option(-1, "all runs"), RUNS.map((r, k) => option(k, r.label + " · " + r.model)))),
    el("label", null, "metric ", el("select", {id: "f-metric", disabled: METRICS.length ? null : "disabled",
                                               onchange: (ev) => { S.metric = +ev.target.value; applyFilters(); }},
       METRICS.length ? METRICS.map((m, j) => option(j, m[1])) : option(0, "not scored"))),
    el("label", {title: "score of the chosen run minus its baseline run's, per example"}, "Δ vs baseline ≥ ",
       num("f-dmin", "min", "dmin"), " ≤ ", num("f-dmax", "max", "dmax")),
    el("label", null, "health ", el("select", {id: "f-flag", onchange: (ev) => { S.flag = ev.target.value; applyFilters(); }},
       option("", "any"), option("*any", "any flag"), option("*none", "no flag"), [...flags].sort().map(f => option(f, f)))),
    el("label", null, "split ", el("select", {id: "f-split", onchange: (ev) => { S.split = ev.target.value; applyFilters(); }},
       option("", "all"), splits.map(s => option(s, s)))));
  return ctl;
}
function syncDelta() {
  const on = hasDelta();
  for (const id of ["f-dmin", "f-dmax"]) {
    const n = document.getElementById(id);
    n.disabled = !on;
    n.title = on ? "" : "choose a run that has a baseline run (--baseline)";
  }
}
function debounce(f, ms) { let t = null; return (ev) => { clearTimeout(t); t = setTimeout(() => f(ev), ms); }; }

function buildList(root) {
  LIST.count = el("div", {id: "count", class: "muted"});
  LIST.head = el("div", {class: "thead"});
  LIST.inner = el("div", {id: "list-inner"});
  LIST.box = el("div", {id: "list", onscroll: () => requestAnimationFrame(renderRows)}, LIST.inner);
  root.append(buildControls(), LIST.count, LIST.head, LIST.box);
  syncDelta();
  applyFilters();
}
