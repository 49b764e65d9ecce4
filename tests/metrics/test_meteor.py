"""METEOR: parity with NLTK called as HF `evaluate` calls it, WordNet required or renamed."""

import numpy as np
import pytest

from dpbench import doctor
from dpbench.errors import DpbenchError
from dpbench.metrics import meteor
from dpbench.metrics.config import ScoreConfig
from tests.metrics.fixtures import PAIRS, TOY_HYP, TOY_REF


@pytest.fixture(scope="module", autouse=True)
def wordnet_ready(tmp_path_factory):
    """WordNet laid out by `dpbench doctor --fix` (CI does this); else from the Debian files into tmp."""
    if doctor.wordnet_available():
        return
    if not (doctor.DEBIAN_WORDNET / "index.noun").exists():
        pytest.skip("WordNet absent: apt-get install wordnet-base wordnet-sense-index (CI installs them)")
    import os

    root = tmp_path_factory.mktemp("nltk_data")
    os.environ["NLTK_DATA"] = str(root)
    doctor.fix_wordnet(root)
    assert doctor.wordnet_available()


def published_meteor(pred: str, ref: str, wordnet=None) -> float:
    """evaluate's meteor.py: single_meteor_score(word_tokenize(ref), word_tokenize(pred), 0.9, 3, 0.5).
    Fixture texts are single sentences, so word_tokenize needs no punkt model (preserve_line)."""
    from nltk.corpus import wordnet as wn
    from nltk.tokenize import word_tokenize
    from nltk.translate.meteor_score import single_meteor_score

    return single_meteor_score(word_tokenize(ref, preserve_line=True), word_tokenize(pred, preserve_line=True),
                               alpha=0.9, beta=3, gamma=0.5, wordnet=wordnet or wn)


def test_meteor_parity_with_nltk():
    cols = meteor.compute([p for p, _ in PAIRS], [r for _, r in PAIRS], ScoreConfig())
    (col,) = cols
    assert col.spec.name == "meteor" and col.settings["wordnet"] is True
    expected = [published_meteor(p, r) for p, r in PAIRS]
    np.testing.assert_allclose(col.per_example, expected, atol=1e-9)
    assert col.value() == pytest.approx(np.mean(expected), abs=1e-6)


def test_pair_scorer_equals_single_meteor_score_on_awkward_token_lists():
    # Repeated words, synonyms (big/large/huge, buy/purchase, car/auto), stems (play/playing/played),
    # case and empty sides: every alignment stage and tie is exercised; compared with the library call.
    import random

    from nltk.corpus import wordnet as wn
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import single_meteor_score

    vocab = ["big", "large", "huge", "Big", "buy", "purchase", "car", "auto", "automobile", "play", "playing",
             "played", "the", "a", "the", "good", "well", "sound", "audio", "strings", "string", ".", ","]
    score = meteor.make_pair_scorer(meteor.CachedWordNet(wn), meteor.CachedStemmer(PorterStemmer()))
    rng = random.Random(3)
    for _ in range(400):
        ref = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        hyp = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        expected = single_meteor_score(ref, hyp, wordnet=wn, alpha=0.9, beta=3, gamma=0.5)
        assert score(ref, hyp) == pytest.approx(expected, abs=1e-12), (ref, hyp)


def test_toy_pair_values():
    (col,) = meteor.compute([TOY_HYP], [TOY_REF], ScoreConfig())
    # Treebank tokens split "clean," and "loud." → 0.46823; ENVIRONMENT.md's 0.3932 is the same library on
    # whitespace-split tokens (punctuation glued to words), which is not how the published evaluation calls it.
    assert col.value() == pytest.approx(0.468229, abs=1e-6)
    from nltk.translate.meteor_score import single_meteor_score

    assert single_meteor_score(TOY_REF.split(), TOY_HYP.split()) == pytest.approx(0.393162, abs=1e-6)


def test_multi_sentence_text_tokenizes_per_sentence():
    tokenize, desc = meteor.make_word_tokenizer()
    expected = ("Great", "blender", ".", "Very", "loud", ",", "though", ".")
    assert tokenize("Great blender. Very loud, though.") == expected
    assert "punkt" in desc


def test_without_wordnet_refused_with_fix_hint(monkeypatch):
    monkeypatch.setattr(doctor, "wordnet_available", lambda: False)
    with pytest.raises(DpbenchError, match="dpbench doctor --fix"):
        meteor.compute([TOY_HYP], [TOY_REF], ScoreConfig())


def test_without_wordnet_on_request_is_renamed(monkeypatch):
    monkeypatch.setattr(doctor, "wordnet_available", lambda: False)
    (col,) = meteor.compute(["the car is quick"], ["the automobile is fast"], ScoreConfig(meteor_without_wordnet=True))
    assert col.spec.name == "meteor_nowordnet" and col.settings["wordnet"] is False
    assert col.notes and "NOT comparable" in col.notes[0]
    monkeypatch.undo()
    with_wn = meteor.compute(["the car is quick"], ["the automobile is fast"], ScoreConfig())[0]
    assert with_wn.value() > col.value()  # synonyms (car/automobile, quick/fast) only count with WordNet


def test_worker_processes_give_identical_numbers(monkeypatch):
    from dpbench.metrics import base

    monkeypatch.setattr(base, "MIN_PAIRS_PER_WORKER", 4)
    preds, refs = [p for p, _ in PAIRS], [r for _, r in PAIRS]
    (one,) = meteor.compute(preds, refs, ScoreConfig(workers=1))
    (two,) = meteor.compute(preds, refs, ScoreConfig(workers=3))
    np.testing.assert_array_equal(one.per_example, two.per_example)


def test_forked_workers_read_wordnet_files_safely(monkeypatch):
    # Words never looked up before in this process, so both workers read WordNet's data files at once;
    # with shared (forked) file offsets they would read each other's lines.
    import random

    from nltk.corpus import wordnet

    from dpbench.metrics import base

    monkeypatch.setattr(base, "MIN_PAIRS_PER_WORKER", 50)
    names = sorted(n for n in wordnet.all_lemma_names(pos="n") if n.isalpha())
    rng = random.Random(11)
    words = rng.sample(names, 3000)
    preds = [" ".join(words[i:i + 10]) for i in range(0, 1500, 10)]
    refs = [" ".join(words[i:i + 10]) for i in range(1500, 3000, 10)]
    (two,) = meteor.compute(preds, refs, ScoreConfig(workers=2))
    (one,) = meteor.compute(preds, refs, ScoreConfig(workers=1))
    np.testing.assert_array_equal(one.per_example, two.per_example)
