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
from dpbench.metrics.base import MetricScores, map_chunks, worker_count


def make_bleu(effective_order: bool):
    from sacrebleu.metrics import BLEU

    return BLEU(effective_order=effective_order)


def segment_statistics(bleu, predictions: list[str], references: list[str]) -> np.ndarray:
    """n × 10 int64: [hyp_len, ref_len, correct 1-4, total 1-4] per example, equal to sacreBLEU's
    `_extract_corpus_statistics` (tests check), computed with a faster 13a tokenizer and n-gram count."""
    bleu.num_refs = 1  # what _cache_references sets; the signature needs it even for 0 rows
    if not predictions:
        return np.zeros((0, 10), dtype=np.int64)
    tokenize = make_fast_13a(bleu.tokenizer) if not bleu.lowercase else None
    if tokenize is None or bleu.max_ngram_order != 4:
        return np.asarray(bleu._extract_corpus_statistics(predictions, [references]), dtype=np.int64)
    tokens: dict[str, list[str]] = {}
    for text in (*predictions, *references):
        if text not in tokens:
            tokens[text] = tokenize(text.rstrip()).split()
    return ngram_statistics([tokens[t] for t in predictions], [tokens[t] for t in references])


def ngram_statistics(hyps: list[list[str]], refs: list[list[str]], max_order: int = 4) -> np.ndarray:
    """sacreBLEU's per-segment statistics for tokenized pairs, vectorized with hash factorization.

    Order 1: every position gets the exact group id of (pair, token). Order n: the id of (pair, n-gram) is
    (id of its (n-1)-gram prefix in the same pair, next token), factorized again. Clipped matches per group
    are min(hypothesis count, reference count). An n-gram can only match if both its (n-1)-subgrams occur
    in the hypothesis and the reference of its pair, so higher orders only look at those positions: the
    arrays shrink with each order (most bigrams of two different reviews are not shared)."""
    import pandas as pd

    n = len(hyps)
    seqs = [*hyps, *refs]  # segment s < n: hypothesis s; s >= n: reference s - n
    flat = np.array([t for seq in seqs for t in seq], dtype=object)
    ids, vocab = pd.factorize(flat)
    ids, radix, size = ids.astype(np.int64), len(vocab) + 1, flat.size
    lens = np.fromiter((len(seq) for seq in seqs), dtype=np.int64, count=2 * n)
    seg = np.repeat(np.arange(2 * n), lens)
    room = lens[seg] - (np.arange(size) - np.repeat(np.cumsum(lens) - lens, lens))  # tokens left in the segment
    pair, is_hyp = seg % max(n, 1), seg < n
    out = np.zeros((n, 2 + 2 * max_order), dtype=np.int64)
    out[:, 0], out[:, 1] = lens[:n], lens[n:]
    for order in range(1, max_order + 1):
        out[:, 1 + max_order + order] = np.maximum(lens[:n] - order + 1, 0)
    group = np.full(size, -1, dtype=np.int64)  # group id of the (order-1)-gram starting at each position
    shared = np.zeros(size + 1, dtype=bool)  # that group occurs in both the hypothesis and the reference
    for order in range(1, max_order + 1):
        if order == 1:
            cand, code = np.arange(size), pair * radix + ids
        else:
            cand = np.flatnonzero((room >= order) & shared[:size] & shared[1:])
            code = group[cand] * radix + ids[cand + order - 1]
        if cand.size == 0:
            break  # no shared (order-1)-gram: no higher-order match either
        g, uniques = pd.factorize(code)
        groups, h = len(uniques), is_hyp[cand]
        hyp_count = np.bincount(g[h], minlength=groups)
        ref_count = np.bincount(g[~h], minlength=groups)
        pair_of = np.empty(groups, dtype=np.int64)
        pair_of[g] = pair[cand]
        matched = np.minimum(hyp_count, ref_count)
        out[:, 1 + order] = np.bincount(pair_of, weights=matched, minlength=n).astype(np.int64)
        shared[:] = False
        shared[cand] = (matched > 0)[g]
        group[cand] = g
    return out


def make_fast_13a(tokenizer):
    """sacreBLEU's 13a tokenizer with its first rule (pad each punctuation character with spaces: the
    bulk of the regex work) done by str.translate; the table is read off the library's own regex."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    if type(tokenizer) is not Tokenizer13a:
        return None
    rules = tokenizer._post_tokenizer._re
    first, first_repl = rules[0]
    if first_repl != r" \1 ":
        return None  # another sacreBLEU version: use the library path
    table = str.maketrans({c: f" {c} " for c in map(chr, range(128)) if first.fullmatch(c)})
    rest = rules[1:]

    def tokenize(line: str) -> str:
        line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
        if "&" in line:
            line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        line = f" {line} ".translate(table)
        for rx, repl in rest:
            line = rx.sub(repl, line)
        return " ".join(line.split())

    return tokenize


def bleu_from_sums(bleu, sums: np.ndarray) -> np.ndarray:
    """Score of each row of summed statistics (B × 10) with sacreBLEU's formula."""
    out = np.empty(sums.shape[0])
    for i, row in enumerate(np.rint(sums).astype(np.int64)):
        out[i] = bleu._compute_score_from_stats([int(x) for x in row]).score
    return out


def statistics_chunk(predictions: list[str], references: list[str]) -> np.ndarray:
    return segment_statistics(make_bleu(False), predictions, references)


def compute(predictions: list[str], references: list[str], cfg) -> list[MetricScores]:
    corpus_bleu, sentence_bleu = make_bleu(False), make_bleu(True)
    corpus_bleu.num_refs = 1
    workers = worker_count(len(predictions), cfg.workers)
    parts = map_chunks(statistics_chunk, predictions, references, workers)
    stats = np.concatenate(parts) if parts else np.zeros((0, 10), dtype=np.int64)
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
