"""METEOR with NLTK, as HF `evaluate`'s "meteor" calls it (the published evaluation):
    single_meteor_score(word_tokenize(ref), word_tokenize(pred), alpha=0.9, beta=3, gamma=0.5)
averaged over examples.

WordNet's synonym stage changes METEOR a lot, so without WordNet the metric is refused (a clear
message naming `dpbench doctor --fix`), or, when the user asks for it, reported as `meteor_nowordnet`
with a warning: never as `meteor`. `word_tokenize` needs NLTK's punkt_tab model for sentence splitting;
offline it is usually absent, so the tokenizer then splits sentences with an untrained Punkt model
(same Treebank word tokenizer) and says so in the settings. Speed: WordNet look-ups, Porter stems and
tokenizations are memoized; the scores are the library's own.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import version

import numpy as np

from dpbench.errors import DpbenchError
from dpbench.metrics import SPECS
from dpbench.metrics.base import MetricScores, map_chunks, worker_count

ALPHA, BETA, GAMMA = 0.9, 3.0, 0.5


class _Lemma:
    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def name(self) -> str:
        return self._name


class _Synset:
    __slots__ = ("_lemmas",)

    def __init__(self, names: list[str]):
        self._lemmas = tuple(_Lemma(n) for n in names)

    def lemmas(self):
        return self._lemmas


class CachedWordNet:
    """`synsets(word)` memoized and collapsed into one synset holding the distinct lemma names without "_".
    METEOR's synonym stage only forms the set of those names over all synsets of a word (then adds the
    word), so the set, and every score, is unchanged; the per-word work shrinks to one small tuple."""

    def __init__(self, wordnet):
        self._wordnet = wordnet
        self._cache: dict[str, tuple[_Synset, ...]] = {}

    def synsets(self, word: str):
        got = self._cache.get(word)
        if got is None:
            names = dict.fromkeys(lem.name() for s in self._wordnet.synsets(word) for lem in s.lemmas())
            kept = [n for n in names if n.find("_") < 0]
            got = self._cache[word] = (_Synset(kept),) if kept else ()
        return got


class NoWordNet:
    """Stands in for WordNet when it is missing: no synonyms (exact and stem matches only)."""

    def synsets(self, word: str):
        return ()


class CachedStemmer:
    def __init__(self, stemmer):
        self._stem = lru_cache(maxsize=None)(stemmer.stem)

    def stem(self, word: str) -> str:
        return self._stem(word)


def make_word_tokenizer():
    """(tokenize, description). word_tokenize when punkt_tab is installed, else untrained Punkt."""
    import nltk.tokenize as nt

    if nt.punkt_model_available("english"):
        return lru_cache(maxsize=1 << 16)(lambda t: tuple(nt.word_tokenize(t))), "nltk word_tokenize (punkt_tab)"
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    splitter = PunktSentenceTokenizer()
    treebank = nt._treebank_word_tokenizer

    def tokenize(text: str) -> tuple[str, ...]:
        return tuple(tok for sent in splitter.tokenize(text) for tok in treebank.tokenize(sent))

    return lru_cache(maxsize=1 << 16)(tokenize), "nltk Treebank words + untrained Punkt sentences (punkt_tab missing)"


def load_wordnet(allow_missing: bool):
    """(wordnet-like object, has_wordnet). Refuses without WordNet unless allow_missing."""
    from dpbench.doctor import wordnet_available

    if wordnet_available():
        from nltk.corpus import wordnet

        return CachedWordNet(wordnet), True
    if not allow_missing:
        raise DpbenchError(
            "METEOR needs WordNet, which NLTK cannot find. Run `dpbench doctor --fix` (after "
            "`apt-get install wordnet-base wordnet-sense-index`), or online "
            "`python -c \"import nltk; nltk.download('wordnet')\"`; or drop meteor from --metrics; "
            "or pass --meteor-without-wordnet to report it as `meteor_nowordnet`."
        )
    return NoWordNet(), False


def reopen_wordnet_files() -> None:
    """In a forked worker: forget WordNet's open data files. A forked child shares the parent's file
    offsets, so two workers seeking in one data file read each other's lines; NLTK reopens them lazily."""
    from nltk.corpus import wordnet

    if hasattr(wordnet, "_data_file_map"):
        wordnet._data_file_map = {}


def score_chunk(predictions: list[str], references: list[str], allow_missing: bool) -> np.ndarray:
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import single_meteor_score

    wordnet, _ = load_wordnet(allow_missing)
    tokenize, _ = make_word_tokenizer()
    stemmer = CachedStemmer(PorterStemmer())
    return np.array([
        single_meteor_score(tokenize(ref), tokenize(pred), stemmer=stemmer, wordnet=wordnet,
                            alpha=ALPHA, beta=BETA, gamma=GAMMA)
        for pred, ref in zip(predictions, references, strict=True)
    ], dtype=np.float64)


def compute(predictions: list[str], references: list[str], cfg) -> list[MetricScores]:
    _, has_wordnet = load_wordnet(cfg.meteor_without_wordnet)  # refuses early; loads WordNet before forking
    if has_wordnet:
        from nltk.corpus import wordnet

        wordnet.synsets("dog")  # WordNet's ~10 s start-up happens once, here, not in every worker
    _, tokenizer_desc = make_word_tokenizer()
    workers = worker_count(len(predictions), cfg.workers)
    parts = map_chunks(score_chunk, predictions, references, workers, cfg.meteor_without_wordnet,
                       initializer=reopen_wordnet_files if has_wordnet else None)
    values = np.concatenate(parts) if parts else np.zeros(0)
    settings = {"library": f"nltk {version('nltk')}", "alpha": ALPHA, "beta": BETA, "gamma": GAMMA,
                "wordnet": has_wordnet, "tokenizer": tokenizer_desc, "aggregation": "mean of per-example scores"}
    spec = SPECS["meteor" if has_wordnet else "meteor_nowordnet"]
    notes = [] if has_wordnet else ["WordNet missing: synonym matching off; NOT comparable to METEOR"]
    return [MetricScores(spec, values, settings, notes=notes)]
