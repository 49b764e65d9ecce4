"""ROUGE and BLEU: hand-known toy values and parity (1e-6) with the libraries called as published."""

import random

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from dpbench.metrics import bleu, rouge
from dpbench.metrics.config import ScoreConfig
from tests.metrics.fixtures import PAIRS, TOY_HYP, TOY_REF

PREDS = [p for p, _ in PAIRS]
REFS = [r for _, r in PAIRS]


def columns(module, preds, refs, **cfg):
    return {c.spec.name: c for c in module.compute(preds, refs, ScoreConfig(**cfg))}


def test_toy_pair_rouge_matches_hand_count():
    # 6 shared unigrams (blender is powerful and to clean) of 13 ref / 13 hyp tokens → F = 6/13
    cols = columns(rouge, [TOY_HYP], [TOY_REF], stemmer=True)
    assert cols["rouge1"].value() == pytest.approx(6 / 13, abs=1e-12)
    assert cols["rougeL"].value() == pytest.approx(6 / 13, abs=1e-12)
    assert round(cols["rouge1"].value(), 4) == 0.4615


@pytest.mark.parametrize("stemmer", [False, True])
def test_rouge_parity_with_rouge_score(stemmer):
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=stemmer)
    expected = [scorer.score(r, p) for p, r in PAIRS]  # score(target, prediction), as evaluate calls it
    cols = columns(rouge, PREDS, REFS, stemmer=stemmer)
    np.testing.assert_allclose(cols["rouge1"].per_example, [e["rouge1"].fmeasure for e in expected], atol=1e-12)
    np.testing.assert_allclose(cols["rougeL"].per_example, [e["rougeL"].fmeasure for e in expected], atol=1e-12)
    assert cols["rouge1"].value() == pytest.approx(np.mean([e["rouge1"].fmeasure for e in expected]), abs=1e-6)
    assert cols["rouge1"].settings["use_stemmer"] is stemmer


def test_bit_parallel_lcs_equals_library_table():
    rng = random.Random(7)
    for _ in range(500):
        a = tuple(rng.choice("abcdefg") for _ in range(rng.randint(0, 40)))
        b = tuple(rng.choice("abcdefgh") for _ in range(rng.randint(0, 40)))
        expected = rouge_scorer._lcs_table(a, b)[-1][-1] if a and b else 0
        assert rouge.lcs_length(a, b) == expected


def test_toy_pair_bleu_is_14_87():
    cols = columns(bleu, [TOY_HYP], [TOY_REF])
    assert cols["bleu"].value() == pytest.approx(14.866, abs=1e-3)
    assert cols["bleu"].value() == pytest.approx(sacrebleu.corpus_bleu([TOY_HYP], [[TOY_REF]]).score, abs=1e-9)


def test_bleu_parity_corpus_and_sentence():
    cols = columns(bleu, PREDS, REFS)
    assert cols["bleu"].value() == pytest.approx(sacrebleu.corpus_bleu(PREDS, [REFS]).score, abs=1e-6)
    sent = [sacrebleu.sentence_bleu(p, [r]).score for p, r in PAIRS]
    np.testing.assert_allclose(cols["bleu_sentence"].per_example, sent, atol=1e-6)
    assert cols["bleu_sentence"].value() == pytest.approx(np.mean(sent), abs=1e-6)
    assert "tok:13a" in cols["bleu"].settings["signature"] and "eff:no" in cols["bleu"].settings["signature"]


def test_bleu_corpus_from_resampled_rows_matches_sacrebleu_on_that_subset():
    cols = columns(bleu, PREDS, REFS)
    idx = np.array([0, 0, 2, 5, 7])
    sub = cols["bleu"].subset(idx)
    expected = sacrebleu.corpus_bleu([PREDS[i] for i in idx], [[REFS[i] for i in idx]]).score
    assert sub.value() == pytest.approx(expected, abs=1e-9)


def test_empty_inputs_give_zero_not_errors():
    cols = columns(bleu, ["", ""], ["some text", "more text"])
    assert cols["bleu"].value() == 0.0
    assert list(cols["bleu_sentence"].per_example) == [0.0, 0.0]
    cols = columns(rouge, [""], ["some text"])
    assert cols["rouge1"].value() == 0.0 and cols["rougeL"].value() == 0.0


def test_fast_segment_statistics_equal_sacrebleu_on_awkward_text():
    preds = PREDS + ["a &amp; b &quot;x&quot; -\nfoo\nbar 1,000.5 3-4 ok.", "Ünïcode — “quotes” ... end .", "   ",
                     "<skipped> tag", "x.y,z 10.5% (a) [b] {c} ~^_`|"]
    refs = REFS + ['a & b "x" foo bar 1,000.5 3 - 4 ok .', 'Unicode -- "quotes"...end.', "ref", "tag", "x.y , z"]
    fast = bleu.segment_statistics(bleu.make_bleu(False), preds, refs)
    lib = bleu.make_bleu(False)._extract_corpus_statistics(preds, [refs])
    assert fast.tolist() == lib


def test_ngram_statistics_equal_sacrebleu_on_repetitive_random_text():
    # A 3-letter alphabet repeats n-grams within and across segments: clipping, pruned higher orders,
    # empty segments and segments shorter than 4 tokens all occur.
    rng = random.Random(7)
    for _ in range(300):
        k = rng.randint(1, 5)
        preds = [" ".join(rng.choice("abc") for _ in range(rng.randint(0, 14))) for _ in range(k)]
        refs = [" ".join(rng.choice("abc") for _ in range(rng.randint(0, 14))) for _ in range(k)]
        fast = bleu.segment_statistics(bleu.make_bleu(False), preds, refs)
        assert fast.tolist() == bleu.make_bleu(False)._extract_corpus_statistics(preds, [refs]), (preds, refs)


def test_worker_processes_give_identical_numbers(monkeypatch):
    from dpbench.metrics import base

    monkeypatch.setattr(base, "MIN_PAIRS_PER_WORKER", 3)
    preds, refs = PREDS * 3, REFS * 3
    for module in (rouge, bleu):
        one = columns(module, preds, refs, workers=1)
        two = columns(module, preds, refs, workers=2)
        for name in one:
            np.testing.assert_array_equal(one[name].per_example, two[name].per_example)
            assert one[name].value() == two[name].value()
