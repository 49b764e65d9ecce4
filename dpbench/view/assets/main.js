/* Start: header (runs, settings one click away, notes), the list, the router (#ex/<id>). */
function capsNote() {
  const c = META.caps;
  return `Embedded per example: the newest ${c.history} history entries (plus every entry a method used); ` +
    `history reviews up to ${c.review} characters, peer reviews ${c.peer}, titles ${c.title}, history item ` +
    `descriptions ${c.item_description}, the target's ${c.target_description}, references ${c.reference}, ` +
    `predictions ${c.prediction}, differences ${c.difference}, summaries and profiles ${c.summary}. ` +
    `${META.cut} texts were cut (they end in "…"); the run directories and the benchmark hold the full texts ` +
    `(dpbench view --limit N shows fewer examples with longer texts).`;
}
function runsTable() {
  const hasSummary = RUNS.some(r => r.scored);
  return el("table", {class: "runs-table"},
    el("tr", null, ["run", "model", "backend", "split", "examples", "health"].map(h => el("th", null, h)),
       hasSummary ? METRICS.map(m => el("th", null, m[1])) : null),
    RUNS.map((r, k) => el("tr", {data: {run: k}}, el("td", null, runChip(k)), el("td", null, r.model), el("td", null, r.backend),
      el("td", null, r.split), el("td", {class: "num"}, DATA.out[k].length),
      el("td", null, r.flags.map(f => badge(f)), r.health.reason ? el("span", {class: "muted small"}, " " + r.health.reason) : null),
      hasSummary ? METRICS.map((m, mi) => el("td", {class: "num"}, fmtMetric(mi, r.summary[m[0]] ?? null))) : null)));
}
function buildTop(root) {
  const benches = [...new Set(RUNS.map(r => r.bench))].join(", ");
  const notes = [...META.problems.map(p => "not shown: " + p), ...META.notes];
  root.append(el("header", null,
    el("h1", null, "dpbench view"),
    el("p", {class: "muted"}, `${benches} · ${EX.length} examples · ${RUNS.length} runs` +
       (META.baseline ? ` · baseline ${META.baseline}` : "") + ` · written ${META.generated} by dpbench ${META.version}`),
    el("details", {class: "runs-box"}, el("summary", null, "runs and their settings (click a run for its manifest)"), runsTable()),
    el("div", {class: "chips"}, RUNS.map((_, k) => runChip(k, true))),
    notes.length ? el("details", {class: "notes-box"}, el("summary", null, `${notes.length} note${notes.length === 1 ? "" : "s"}`),
                      el("ul", {class: "notes"}, notes.map(n => el("li", null, n)))) : null,
    el("p", {class: "muted small caps"}, capsNote())));
}
function showList() {
  document.getElementById("example-view").hidden = true;
  document.getElementById("list-view").hidden = false;
  renderRows();
}
function route() {
  const m = /^#ex\/(.+)$/.exec(location.hash);
  if (m) {
    const i = EX_INDEX.get(decodeURIComponent(m[1]));
    if (i !== undefined) { showExample(i); return; }
  }
  showList();
}
/* on an example page: → or j next, ← or k previous, Esc back to the list (not while typing or in a dialog) */
function onKey(ev) {
  if (document.getElementById("example-view").hidden || document.getElementById("manifest-dialog").open) return;
  if (/^(INPUT|SELECT|TEXTAREA)$/.test(ev.target.tagName) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const id = {ArrowRight: "next", j: "next", ArrowLeft: "prev", k: "prev", Escape: "back"}[ev.key];
  const button = id && document.getElementById(id);
  if (button && !button.disabled) { ev.preventDefault(); button.click(); }
}
(function start() {
  const app = document.getElementById("app");
  buildTop(app);
  const listView = el("main", {id: "list-view"});
  app.append(listView, el("main", {id: "example-view", hidden: "hidden"}), el("dialog", {id: "manifest-dialog"}));
  buildList(listView);
  window.addEventListener("hashchange", route);
  document.addEventListener("keydown", onKey);
  route();
  window.dpbenchReady = performance.now();  /* the list's first rows are in the DOM */
  document.body.dataset.ready = "1";
})();
