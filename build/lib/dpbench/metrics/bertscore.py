"""BERTScore F1 with `bert-score`. Default: the packaged all-MiniLM-L6-v2 (offline), layer 6; any model id
or path for online users (DEP published: allenai/led-base-16384, layer 6, no baseline rescaling, no idf).

Published call: `bert_score.score(preds, refs, model_type=..., num_layers=...)`; here one BERTScorer is
built per (model, layer, device) and scores all pairs in batches (bert-score sorts by length and
deduplicates sentences itself). `dpbench score` over several runs first scores the pairs of all runs in
one call (`shared_pairs`), so a reference shared by every run of a split is embedded once, not once per
run. On CPU the model's matmuls are ~80% of the time and already near the cores' peak, so these are
the speed-ups left at unchanged numbers. The model and layer are recorded beside the number.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from importlib.metadata import version

import numpy as np

from dpbench.errors import BackendError
from dpbench.metrics import SPECS
from dpbench.metrics.base import MetricScores

PACKAGED_LAYERS = {"minilm-l6": 6}
_SHARED: dict[tuple, float] = {}  # (model, layer, prediction, reference) -> F1, filled by shared_pairs


def resolve_model(name: str, layer: int | None) -> tuple[str, int | None]:
    """(model_type for bert-score, layer). Packaged aliases resolve to their local path."""
    from dpbench.models import resolve_embedder

    return resolve_embedder(name), layer if layer is not None else PACKAGED_LAYERS.get(name)


@lru_cache(maxsize=2)  # one model kept across the runs of a `dpbench score` call
def load_scorer(model_type: str, layer: int | None, device: str | None, batch_size: int):
    import torch
    from bert_score import BERTScorer

    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return BERTScorer(model_type=model_type, num_layers=layer, batch_size=batch_size, device=dev,
                          rescale_with_baseline=False, idf=False)
    except (OSError, KeyError, ValueError) as e:
        raise BackendError(
            f"BERTScore cannot load {model_type!r} (layer {layer}): {str(e).splitlines()[0][:200]}. Offline, use "
            "the packaged default `--bertscore-model minilm-l6`; a model unknown to bert-score needs "
            "--bertscore-layer."
        ) from None


def score_f1(predictions: list[str], references: list[str], model_type: str, layer: int | None,
             device: str | None = None, batch_size: int = 64) -> np.ndarray:
    """F1 per pair. An empty (after strip) prediction or reference scores 0, as bert-score defines it;
    those pairs are not sent to bert-score, whose empty-string path fails with transformers 5."""
    out = np.zeros(len(predictions))
    keep = []
    for i, (p, r) in enumerate(zip(predictions, references)):
        if p.strip() and r.strip():
            got = _SHARED.get((model_type, layer, p, r))
            if got is None:
                keep.append(i)
            else:
                out[i] = got
    if not keep:
        return out
    scorer = load_scorer(model_type, layer, device, batch_size)
    _, _, f1 = scorer.score([predictions[i] for i in keep], [references[i] for i in keep], batch_size=batch_size)
    out[keep] = f1.double().cpu().numpy()
    return out


@contextmanager
def shared_pairs(predictions: list[str], references: list[str], cfg):
    """Score all these pairs (every run of a `dpbench score` call) in one bert-score call and serve
    `compute` from the result while the block runs; shared references are embedded once."""
    model_type, layer = resolve_model(cfg.bertscore_model, cfg.bertscore_layer)
    pairs = list(dict.fromkeys(zip(predictions, references)))
    f1 = score_f1([p for p, _ in pairs], [r for _, r in pairs], model_type, layer, cfg.device,
                  cfg.bertscore_batch_size)
    _SHARED.update({(model_type, layer, p, r): float(v) for (p, r), v in zip(pairs, f1)})
    try:
        yield
    finally:
        _SHARED.clear()


def compute(predictions: list[str], references: list[str], cfg) -> list[MetricScores]:
    model_type, layer = resolve_model(cfg.bertscore_model, cfg.bertscore_layer)
    f1 = score_f1(predictions, references, model_type, layer, cfg.device, cfg.bertscore_batch_size)
    settings = {"library": f"bert-score {version('bert-score')}", "model": cfg.bertscore_model,
                "layer": layer if layer is not None else "bert-score default", "idf": False,
                "rescale_with_baseline": False, "empty_text": "F1 = 0 (bert-score's rule)",
                "aggregation": "mean of per-example F1"}
    return [MetricScores(SPECS["bertscore_f1"], f1, settings)]
