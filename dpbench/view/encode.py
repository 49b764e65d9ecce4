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
    trace    {ret: [[review index, score]], prof, dpl: [[item index, review index (the user's), position,
              bm25, n peers available, [peer review indices], difference]], sum,
              slots: [[masked, review index, n_peers]], set: {...}}
    A history review's row has no user (it is the example's user). A peer's row has no id and no item
    (its DPL item names it), and below 100 characters of text no user and no title either; at the
    smallest caps no text (its date and rating stay: the leak check needs only those).

Each text is held once (a history review shared by examples, a peer shared by DPL traces, an item's
description) and cut to its cap (a cut text ends in "…"; meta.cut counts them).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from dpbench.metrics import SPECS
from dpbench.run.provenance import now_iso
from dpbench.view.config import CAP_LEVELS, Caps
from dpbench.view.model import Output, Trace, ViewData


class Cutter:
    """Cuts texts to a cap (the cut text ends in "…") and counts the cuts."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, text: str | None, cap: int) -> str:
        text = text or ""
        if len(text) <= cap:
            return text
        self.n += 1
        return text[: cap - 1].rstrip() + "…" if cap else ""


@dataclass
class Selection:
    """What the page carries at given caps: each example's kept history, the reviews and items."""

    history: dict[str, list[tuple[int, str]]]  # example id → (position, review id), newest first
    review_ids: list[str]
    peer_ids: set[str]  # reviews that are only peers (their own, shorter cap)
    item_ids: list[str]


def select(data: ViewData, caps: Caps) -> Selection:
    """The newest `caps.history` entries of each example plus those a run's output used; DPL's peers."""
    used: dict[str, set[str]] = {}
    peers: list[str] = []
    for run in data.runs:
        for eid, o in run.outputs.items():
            used.setdefault(eid, set()).update(o.trace.review_ids())
            peers += [p for it in o.trace.dpl_items or [] for p in it.peer_ids]
    history = {eid: [(p, r) for p, r in ex.history if (p < caps.history or r in used.get(eid, ())) and r in data.reviews]
               for eid, ex in data.examples.items()}
    in_history = list(dict.fromkeys(r for rs in history.values() for _, r in rs))
    hist_set = set(in_history)
    only_peers = [r for r in dict.fromkeys(peers) if r in data.reviews and r not in hist_set]
    review_ids = in_history + only_peers
    item_ids = list(dict.fromkeys([e.item_id for e in data.examples.values()] +
                                  [data.reviews[r].item_id for r in review_ids]))
    return Selection(history, review_ids, set(only_peers), item_ids)


def volume(data: ViewData, caps: Caps) -> int:
    """Characters of text the page carries at these caps (most of its size: the fit's estimate)."""
    sel = select(data, caps)
    n = 0
    for k in sel.review_ids:
        r = data.reviews[k]
        if k in sel.peer_ids:
            n += min(len(r.text), caps.peer) + (len(r.user_id) + min(len(r.title), caps.title) if full_peers(caps) else 0)
        else:
            n += min(len(r.text), caps.review) + min(len(r.title), caps.title)
    for k in sel.item_ids:
        it = data.items.get(k)
        if it is not None:
            n += min(len(it.title), caps.title) + min(len(it.description), caps.item_description)
    for e in data.examples.values():
        n += min(len(e.reference), caps.reference) + min(len(e.target_description), caps.target_description)
    for run in data.runs:
        for o in run.outputs.values():
            t = o.trace
            n += min(len(o.prediction), caps.prediction) + min(len(o.raw or ""), caps.raw)
            n += min(len(t.profile or ""), caps.summary) + min(len(t.summary or ""), caps.summary)
            n += sum(min(len(it.difference), caps.difference) for it in t.dpl_items or [])
    return n


def encode(data: ViewData, caps: Caps) -> dict[str, Any]:
    cut = Cutter()
    sel = select(data, caps)
    item_ix = {k: i for i, k in enumerate(sel.item_ids)}
    rev_ix = {k: i for i, k in enumerate(sel.review_ids)}
    ex_ix = {k: i for i, k in enumerate(data.examples)}
    items = []
    for k in sel.item_ids:
        it = data.items.get(k)
        items.append([k, cut(it.title, caps.title), cut(it.description, caps.item_description)] if it else [k, "", ""])
    reviews = []
    for k in sel.review_ids:
        r = data.reviews[k]
        if k in sel.peer_ids:  # a peer: no id, no item (its DPL item says it); short caps: no user, no title
            full = full_peers(caps)
            reviews.append(["", r.user_id if full else "", None, r.ts, compact_number(r.rating),
                            cut(r.title, caps.title) if full else "", cut(r.text, caps.peer)])
        else:  # a history review: its user is the example's
            reviews.append([k, "", item_ix.get(r.item_id), r.ts, compact_number(r.rating),
                            cut(r.title, caps.title), cut(r.text, caps.review)])
    examples = []
    for k, e in data.examples.items():
        examples.append([k, e.benchmark, e.split, e.user_id, item_ix[e.item_id], e.target_ts, compact_number(e.rating),
                         cut(e.review_title, caps.title), cut(e.reference, caps.reference),
                         cut(e.target_description, caps.target_description), e.n_history,
                         [[pos, rev_ix[r]] for pos, r in sel.history[k]]])
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
            "notes": data.warnings, "problems": data.problems, "cut": cut.n}
    metrics = [[m, SPECS[m].label, SPECS[m].higher_is_better, SPECS[m].scale] for m in data.metrics]
    return {"meta": meta, "metrics": metrics, "runs": runs, "items": items, "reviews": reviews, "ex": examples,
            "out": outs}


def full_peers(caps: Caps) -> bool:
    """Peers carry their user and title only with texts of 100 characters or more (DPL's 32 peers per
    example are most of a paper-sized page)."""
    return caps.peer >= 100


def compact_number(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


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
        d["dpl"] = [[item_ix.get(it.item_id), rev_ix.get(it.review_id), it.position, rounded(it.bm25),
                     it.n_peers_available, [rev_ix[p] for p in it.peer_ids if p in rev_ix],
                     cut(it.difference, caps.difference)] for it in t.dpl_items]
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
    """The payload JSON at the first cap level (CAP_LEVELS) that fits `max_bytes`: (json, caps, level).
    A level is encoded only where the estimate (the bytes that are not text, measured at the first
    level, plus that level's text volume) says it may fit, give or take 15%; the last level is taken
    in any case."""
    first = caps.scaled(*CAP_LEVELS[0])
    text = to_json(encode(data, first))
    size = len(text.encode("utf-8")) + overhead
    if size <= max_bytes:
        return text, first, 0
    fixed = size - volume(data, first)
    for level in range(1, len(CAP_LEVELS)):
        c = caps.scaled(*CAP_LEVELS[level])
        last = level == len(CAP_LEVELS) - 1
        if fixed + volume(data, c) > max_bytes * 1.15 and not last:  # `fixed` shrinks with fewer rows: a margin
            continue
        text = to_json(encode(data, c))
        if len(text.encode("utf-8")) + overhead <= max_bytes or last:
            return text, c, level
    raise AssertionError("unreachable")
