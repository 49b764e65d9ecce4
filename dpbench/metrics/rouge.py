"""ROUGE-1 and ROUGE-L F with `rouge-score`, averaged per example (published: no stemmer).

Numbers equal `RougeScorer(["rouge1", "rougeL"], use_stemmer=...).score(ref, pred)` exactly; only the
work is done faster: tokens (and Porter stems) are cached per distinct text/word, and the LCS length
comes from a bit-parallel algorithm (Crochemore et al. 2001) over Python integers instead of the
library's O(m·n) Python table. ROUGE-1 uses the library's own n-gram functions.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dpbench.metrics import SPECS
from dpbench.metrics.base import CachedStemmer, MetricScores, map_chunks, worker_count


def make_tokenizer(stemmer: bool):
    """rouge-score's DefaultTokenizer with a memoized stemmer; returns text → tuple of tokens."""
    from rouge_score import tokenizers

    tok = tokenizers.DefaultTokenizer(use_stemmer=stemmer)
    if stemmer:
        tok._stemmer = CachedStemmer(tok._stemmer)
    return lru_cache(maxsize=1 << 16)(lambda text: tuple(tok.tokenize(text)))


def lcs_length(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Length of the longest common subsequence, bit-parallel: O(len(b)) big-integer operations."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - bin(v).count("1")


def score_pair(ref_tokens: tuple[str, ...], pred_tokens: tuple[str, ...]) -> tuple[float, float]:
    """(ROUGE-1 F, ROUGE-L F) exactly as rouge_score.rouge_scorer computes them."""
    from rouge_score import rouge_scorer, scoring

    r1 = rouge_scorer._score_ngrams(rouge_scorer._create_ngrams(ref_tokens, 1),
                                    rouge_scorer._create_ngrams(pred_tokens, 1)).fmeasure
    if not ref_tokens or not pred_tokens:
        return r1, 0.0
    lcs = lcs_length(ref_tokens, pred_tokens)
    rl = scoring.fmeasure(lcs / len(pred_tokens), lcs / len(ref_tokens))
    return r1, rl


def score_chunk(predictions: list[str], references: list[str], stemmer: bool) -> np.ndarray:
    """n × 2: ROUGE-1 F, ROUGE-L F."""
    tokenize = make_tokenizer(stemmer)
    out = np.empty((len(predictions), 2))
    for i, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        out[i] = score_pair(tokenize(ref), tokenize(pred))
    return out


def compute(predictions: list[str], references: list[str], cfg) -> list[MetricScores]:
    from importlib.metadata import version

    parts = map_chunks(score_chunk, predictions, references, worker_count(len(predictions), cfg.workers),
                       cfg.stemmer)
    both = np.concatenate(parts) if parts else np.zeros((0, 2))
    settings = {"library": f"rouge-score {version('rouge-score')}", "use_stemmer": cfg.stemmer,
                "measure": "F", "aggregation": "mean of per-example scores (no bootstrap aggregator)"}
    return [MetricScores(SPECS["rouge1"], both[:, 0].copy(), settings),
            MetricScores(SPECS["rougeL"], both[:, 1].copy(), settings)]
