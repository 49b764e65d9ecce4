"""BLEU with sacreBLEU: the corpus score (0-100, as the papers) and the mean sentence BLEU.

Published call (HF `evaluate` "sacrebleu"): `sacrebleu.corpus_bleu(preds, [refs])` with defaults
(13a tokenizer, exp smoothing, no lowercasing). Sentence BLEU = `sacrebleu.sentence_bleu(pred, [ref])`
(effective order). Both come from ONE pass of sacreBLEU's own per-segment statistics: the corpus
score sums them, the sentence scores use each row, and bootstrap/paired tests resample rows.
"""

from __future__ import annotations

from collections import Counter
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
    cache: dict[str, tuple[list[str], list]] = {}

    def counts(text: str):
        got = cache.get(text)
        if got is None:
            toks = tokenize(text.rstrip()).split()
            got = cache[text] = (toks, [Counter(zip(*(toks[i:] for i in range(n)))) for n in range(1, 5)])
        return got

    out = np.zeros((len(predictions), 10), dtype=np.int64)
    for row, (pred, ref) in enumerate(zip(predictions, references)):
        htoks, hgrams = counts(pred)
        rtoks, rgrams = counts(ref)
        out[row, 0], out[row, 1] = len(htoks), len(rtoks)
        for n in range(4):
            rg = rgrams[n]
            out[row, 2 + n] = sum(min(c, rg[g]) for g, c in hgrams[n].items() if g in rg)
            out[row, 6 + n] = max(len(htoks) - n, 0)
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
