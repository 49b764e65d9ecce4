"""BLEU with sacreBLEU: the corpus score (0-100, as the papers) and the mean sentence BLEU.

Published call (HF `evaluate` "sacrebleu"): `sacrebleu.corpus_bleu(preds, [refs])` with defaults
(13a tokenizer, exp smoothing, no lowercasing). Sentence BLEU = `sacrebleu.sentence_bleu(pred, [ref])`
(effective order). Both come from ONE pass of sacreBLEU's own per-segment statistics: the corpus
score sums them, the sentence scores use each row, and bootstrap/paired tests resample rows.
"""

from __future__ import annotations

from importlib.metadata import version

import numpy as np

from dpbench.metrics import SPECS
from dpbench.metrics.base import MetricScores


def make_bleu(effective_order: bool):
    from sacrebleu.metrics import BLEU

    return BLEU(effective_order=effective_order)


def segment_statistics(bleu, predictions: list[str], references: list[str]) -> np.ndarray:
    """n × 10 int64: [hyp_len, ref_len, correct 1-4, total 1-4] per example (sacreBLEU's own)."""
    bleu.num_refs = 1  # what _cache_references sets; the signature needs it even for 0 rows
    if not predictions:
        return np.zeros((0, 10), dtype=np.int64)
    stats = bleu._extract_corpus_statistics(predictions, [references])
    return np.asarray(stats, dtype=np.int64)


def bleu_from_sums(bleu, sums: np.ndarray) -> np.ndarray:
    """Score of each row of summed statistics (B × 10) with sacreBLEU's formula."""
    out = np.empty(sums.shape[0])
    for i, row in enumerate(np.rint(sums).astype(np.int64)):
        out[i] = bleu._compute_score_from_stats([int(x) for x in row]).score
    return out


def compute(predictions: list[str], references: list[str], cfg) -> list[MetricScores]:
    corpus_bleu, sentence_bleu = make_bleu(False), make_bleu(True)
    stats = segment_statistics(corpus_bleu, predictions, references)
    sentence_bleu.num_refs = 1
    sentence = bleu_from_sums(sentence_bleu, stats)
    signature = str(corpus_bleu.get_signature())
    lib = f"sacrebleu {version('sacrebleu')}"
    corpus = MetricScores(
        SPECS["bleu"], sentence, {"library": lib, "signature": signature, "scale": "0-100",
                                  "aggregation": "corpus (summed n-gram statistics)"},
        stats=stats.astype(np.float64), from_sums=lambda s: bleu_from_sums(corpus_bleu, s),
    )
    sent = MetricScores(SPECS["bleu_sentence"], sentence,
                        {"library": lib, "signature": str(sentence_bleu.get_signature()), "scale": "0-100",
                         "aggregation": "mean of sentence_bleu (effective order)"})
    return [corpus, sent]
