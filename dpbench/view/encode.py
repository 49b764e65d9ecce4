"""ViewData → the page's compact JSON, cut to fit a size budget.

Layout (arrays for the bulk tables, short keys elsewhere; the page's JS reads exactly this):

    meta     {generated, version, caps, cut, notes, problems, baseline}
    metrics  [[name, label, higher_is_better, scale], ...]           per-example metric columns
    runs     [{id, label, method, model, backend, split, bench, base, scored, summary, health, flags,
               notes, manifest}, ...]                                 base = index of the baseline run
    items    [[item_id, title, description], ...]
    reviews  [[review_id, user_id, item index, ts, rating, title, text], ...]
    ex       [[example_id, bench, split, user_id, item index, target_ts, rating, review_title, reference,
               target description, n_history, [[position, review index], ...]], ...]
    out      per run: [{e: example index, s: status, p, raw, x: error, fr: finish reason, l: latency,
               h: [flags], m: [values by metrics], t: trace}, ...]     empty keys left out
    trace    {ret: [[review index, score]], prof, dpl: [{i, h: review index, pos, bm25, na, peers, d}],
              sum, slots: [[masked, review index, n_peers]], set: {...}}

Each text is held once (a history review shared by examples, a peer shared by DPL traces, an item's
description) and cut to its cap with a visible "[… N more characters not embedded]".
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from dpbench.metrics import SPECS
from dpbench.run.provenance import now_iso
from dpbench.view.config import CAP_LEVELS, Caps
from dpbench.view.model import Output, Trace, ViewData


class Cutter:
    """Cuts texts to a cap and counts the cuts."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, text: str | None, cap: int) -> str:
        text = text or ""
        if len(text) <= cap:
            return text
        self.n += 1
        return f"{text[:cap].rstrip()} [… {len(text) - cap:,} more characters not embedded]"


def encode(data: ViewData, caps: Caps) -> dict[str, Any]:
    cut = Cutter()
    keep_hist = {eid: hist_kept(ex.history, caps.history, data, eid) for eid, ex in data.examples.items()}
    review_ids = [r for rs in keep_hist.values() for _, r in rs]
    for run in data.runs:
        for o in run.outputs.values():
            review_ids += [p for it in o.trace.dpl_items or [] for p in it.peer_ids]
    review_ids = [r for r in dict.fromkeys(review_ids) if r in data.reviews]
    item_ids = list(dict.fromkeys([e.item_id for e in data.examples.values()] +
                                  [data.reviews[r].item_id for r in review_ids]))
    item_ix = {k: i for i, k in enumerate(item_ids)}
    rev_ix = {k: i for i, k in enumerate(review_ids)}
    ex_ids = list(data.examples)
    ex_ix = {k: i for i, k in enumerate(ex_ids)}
    items = []
    for k in item_ids:
        it = data.items.get(k)
        items.append([k, it.title if it else "", cut(it.description, caps.item_description) if it else ""])
    reviews = []
    for k in review_ids:
        r = data.reviews[k]
        reviews.append([k, r.user_id, item_ix.get(r.item_id), r.ts, r.rating, cut(r.title, 300), cut(r.text, caps.review)])
    examples = []
    for k in ex_ids:
        e = data.examples[k]
        examples.append([k, e.benchmark, e.split, e.user_id, item_ix[e.item_id], e.target_ts, e.rating,
                         cut(e.review_title, 300), cut(e.reference, caps.reference),
                         cut(e.target_description, caps.target_description), e.n_history,
                         [[pos, rev_ix[r]] for pos, r in keep_hist[k] if r in rev_ix]])
    run_ix = {r.run_id: i for i, r in enumerate(data.runs)}
    runs, outs = [], []
    for r in data.runs:
        runs.append({"id": r.run_id, "label": r.label, "method": r.method, "model": r.model, "backend": r.backend,
                     "split": r.split, "bench": r.benchmark, "base": run_ix.get(r.baseline_run_id or ""),
                     "scored": r.scored, "summary": r.summary, "health": r.health, "flags": r.flags,
                     "notes": r.notes, "manifest": r.manifest})
        outs.append([output_json(ex_ix[eid], o, data.metrics, rev_ix, item_ix, caps, cut)
                     for eid, o in r.outputs.items() if eid in ex_ix])
    meta = {"generated": now_iso(), "version": dpbench_version(), "caps": asdict(caps), "baseline": data.baseline,
            "notes": data.warnings, "problems": data.problems}
    payload = {"meta": meta, "metrics": [[m, SPECS[m].label, SPECS[m].higher_is_better, SPECS[m].scale]
                                         for m in data.metrics],
               "runs": runs, "items": items, "reviews": reviews, "ex": examples, "out": outs}
    meta["cut"] = cut.n
    return payload


def hist_kept(history: list[tuple[int, str]], cap: int, data: ViewData, eid: str) -> list[tuple[int, str]]:
    """The newest `cap` entries, plus any entry a run's output on this example used."""
    used = set()
    for run in data.runs:
        o = run.outputs.get(eid)
        if o is not None:
            used |= o.trace.review_ids()
    return [(p, r) for p, r in history if p < cap or r in used]


def output_json(e: int, o: Output, metrics: list[str], rev_ix: dict[str, int], item_ix: dict[str, int],
                caps: Caps, cut: Cutter) -> dict[str, Any]:
    d: dict[str, Any] = {"e": e}
    if o.status != "ok":
        d["s"] = o.status
    if o.prediction:
        d["p"] = cut(o.prediction, caps.prediction)
    if o.raw:
        d["raw"] = cut(o.raw, caps.raw)
    if o.error:
        d["x"] = cut(o.error, 600)
    if o.finish_reason:
        d["fr"] = o.finish_reason
    if o.latency_s:
        d["l"] = round(o.latency_s, 3)
    if o.health:
        d["h"] = o.health
    if o.metrics:
        d["m"] = [rounded(o.metrics.get(m)) for m in metrics]
    t = trace_json(o.trace, rev_ix, item_ix, caps, cut)
    if t:
        d["t"] = t
    return d


def trace_json(t: Trace, rev_ix: dict[str, int], item_ix: dict[str, int], caps: Caps, cut: Cutter) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if t.retrieved is not None:
        d["ret"] = [[rev_ix.get(r), rounded(s)] for r, s in t.retrieved]
    if t.profile is not None:
        d["prof"] = cut(t.profile, caps.summary)
    if t.dpl_items is not None:
        d["dpl"] = [{"i": item_ix.get(it.item_id), "h": rev_ix.get(it.review_id), "pos": it.position,
                     "bm25": rounded(it.bm25), "na": it.n_peers_available,
                     "peers": [rev_ix[p] for p in it.peer_ids if p in rev_ix], "d": cut(it.difference, caps.difference)}
                    for it in t.dpl_items]
    if t.summary is not None:
        d["sum"] = cut(t.summary, caps.summary)
    if t.slots is not None:
        d["slots"] = [[s.masked, rev_ix.get(s.review_id or ""), s.n_peers] for s in t.slots]
    if t.settings:
        d["set"] = t.settings
    return d


def rounded(v: float | None) -> float | None:
    return None if v is None or v != v else round(float(v), 4)


def dpbench_version() -> str:
    from dpbench import __version__

    return __version__


def to_json(payload: dict[str, Any]) -> str:
    """Compact JSON that is safe inside <script type="application/json">: no "<", ">" or "&" is left
    raw (so no text can close the script or open a comment), nor U+2028/2029."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def fit(data: ViewData, caps: Caps, max_bytes: int, overhead: int = 0) -> tuple[str, Caps, int]:
    """The payload JSON at the first cap level (CAP_LEVELS) that fits `max_bytes`; (json, caps, level)."""
    for level, f in enumerate(CAP_LEVELS):
        c = caps.scaled(f)
        text = to_json(encode(data, c))
        if len(text.encode("utf-8")) + overhead <= max_bytes or level == len(CAP_LEVELS) - 1:
            return text, c, level
    raise AssertionError("unreachable")
