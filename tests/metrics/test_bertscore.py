"""BERTScore with the packaged MiniLM: toy value, parity with bert_score.score, empty texts."""

import numpy as np
import pytest

from dpbench.metrics import bertscore
from dpbench.metrics.config import ScoreConfig
from tests.metrics.fixtures import PAIRS, TOY_HYP, TOY_REF


@pytest.mark.slow
def test_bertscore_toy_and_parity_with_library():
    from bert_score import score

    from dpbench.models import resolve_embedder

    (toy,) = bertscore.compute([TOY_HYP], [TOY_REF], ScoreConfig())
    assert toy.value() == pytest.approx(0.8161, abs=1e-4)
    assert toy.settings["model"] == "minilm-l6" and toy.settings["layer"] == 6

    pairs = [(p, r) for p, r in PAIRS if p.strip()]
    (col,) = bertscore.compute([p for p, _ in pairs], [r for _, r in pairs], ScoreConfig())
    _, _, f1 = score([p for p, _ in pairs], [r for _, r in pairs], model_type=resolve_embedder("minilm-l6"),
                     num_layers=6)
    np.testing.assert_allclose(col.per_example, f1.numpy().astype(float), atol=1e-6)

    (with_empty,) = bertscore.compute(["", TOY_HYP], [TOY_REF, TOY_REF], ScoreConfig())
    assert with_empty.per_example[0] == 0.0  # bert-score's rule for empty candidates
    assert with_empty.per_example[1] == pytest.approx(toy.value(), abs=1e-6)


@pytest.mark.slow
def test_shared_pairs_score_runs_together_with_the_same_numbers(monkeypatch):
    cfg = ScoreConfig()
    pairs = [(p, r) for p, r in PAIRS if p.strip()]
    run_a = [p for p, _ in pairs]
    run_b = [TOY_HYP] * len(pairs)  # a second "run" on the same references
    refs = [r for _, r in pairs]
    alone_a = bertscore.compute(run_a, refs, cfg)[0].per_example
    alone_b = bertscore.compute(run_b, refs, cfg)[0].per_example
    with bertscore.shared_pairs(run_a + run_b, refs + refs, cfg):
        calls = []
        monkeypatch.setattr(bertscore, "load_scorer", lambda *a: calls.append(a))  # any model work would show
        together_a = bertscore.compute(run_a, refs, cfg)[0].per_example
        together_b = bertscore.compute(run_b, refs, cfg)[0].per_example
    assert calls == []
    np.testing.assert_allclose(together_a, alone_a, atol=1e-5)
    np.testing.assert_allclose(together_b, alone_b, atol=1e-5)
    assert bertscore._SHARED == {}  # nothing leaks into the next score call
