"""Output health of a run: the flags of dpbench.metrics.health over every example it should cover
(missing ones count as empty), over the intermediates its method wrote, and the fallbacks it took.

- intermediates: DPL's per-item differences and its summary, PAG's profile (from each line's trace);
- fallbacks: DPL examples where no history item had enough leak-free peers (DPL then summarizes the
  RAG reviews alone), DEP examples whose slots were all masked (no covered history item: DEP then
  sees no user vector), prompts cut to fit the recipe's limits.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from dpbench.metrics.health import HealthRates, TextHealth, text_health
from dpbench.schema import PredictionRecord

DEFAULT_THRESHOLD = 0.10


def prompt_of(rec: PredictionRecord) -> str:
    t = rec.trace
    if "generation_messages" in t:
        return "\n".join(m.get("content", "") for m in t["generation_messages"])
    return str(t.get("prompt_text", ""))


def example_health(rec: PredictionRecord | None) -> TextHealth:
    if rec is None or rec.error is not None:
        return text_health("", raw="", finish_reason=None)
    return text_health(rec.prediction, raw=rec.raw or rec.prediction, prompt=prompt_of(rec),
                       finish_reason=rec.finish_reason)


def intermediate_texts(rec: PredictionRecord) -> list[tuple[str, str]]:
    t = rec.trace
    out: list[tuple[str, str]] = []
    if t.get("method") == "dpl":
        out += [("dpl_difference", str(i.get("difference", ""))) for i in t.get("items", [])]
        out.append(("dpl_summary", str(t.get("summary", ""))))
    elif t.get("method") == "pag" and t.get("retrieved"):
        out.append(("pag_profile", str(t.get("profile_summary_raw", t.get("profile_summary", "")))))
    return out


def fallbacks_of(rec: PredictionRecord) -> dict[str, bool]:
    t = rec.trace
    out: dict[str, bool] = {}
    if t.get("method") == "dpl":
        out["dpl_no_peer_items"] = not t.get("items")
    if "mask" in t:
        out["dep_all_slots_masked"] = not any(t["mask"])
    trunc = t.get("truncation")
    if isinstance(trunc, dict):
        out["prompt_truncated"] = bool(trunc.get("reviews_truncated") or trunc.get("descriptions_truncated"))
    elif "prompt_truncated" in t:
        out["prompt_truncated"] = bool(t["prompt_truncated"])
    return out


def reason_of(rates: dict[str, Any], threshold: float) -> str:
    parts = [f"{k} {rates[k]:.0%}" for k in ("loop", "echo", "empty") if rates.get(k)]
    return (f"{rates['degenerate']:.0%} of outputs are degenerate ({', '.join(parts)}) — over the "
            f"{threshold:.0%} threshold: read these scores as decoding failure, not method quality")


def run_health(records: list[PredictionRecord | None], threshold: float = DEFAULT_THRESHOLD
               ) -> tuple[dict[str, Any], list[list[str]]]:
    """(the run's health summary, each example's flags), records aligned with the run's example ids."""
    rates, inter = HealthRates(), {}
    fb_counts: Counter = Counter()
    fb_n: Counter = Counter()
    per_example = []
    for rec in records:
        h = example_health(rec)
        rates.add(h)
        per_example.append(h.flags())
        if rec is None or rec.error is not None:
            continue
        for kind, text in intermediate_texts(rec):
            inter.setdefault(kind, HealthRates()).add(text_health(text))
        for name, hit in fallbacks_of(rec).items():
            fb_n[name] += 1
            fb_counts[name] += hit
    summary: dict[str, Any] = rates.to_dict()
    degenerate = summary["degenerate"] or 0.0
    summary["threshold"] = threshold
    summary["unhealthy"] = rates.n > 0 and degenerate > threshold
    summary["reason"] = reason_of(summary, threshold) if summary["unhealthy"] else None
    summary["intermediates"] = {k: v.to_dict() for k, v in sorted(inter.items())}
    summary["fallbacks"] = {k: fb_counts[k] / fb_n[k] for k in sorted(fb_n)}
    summary["definitions"] = "docs/health.md"
    return summary, per_example
