"""METEOR with NLTK, as HF `evaluate`'s "meteor" calls it (the published evaluation):
    single_meteor_score(word_tokenize(ref), word_tokenize(pred), alpha=0.9, beta=3, gamma=0.5)
averaged over examples.

WordNet's synonym stage changes METEOR a lot, so without WordNet the metric is refused (a clear
message naming `dpbench doctor --fix`), or, when the user asks for it, reported as `meteor_nowordnet`
with a warning: never as `meteor`. `word_tokenize` needs NLTK's punkt_tab model for sentence splitting;
offline it is usually absent, so the tokenizer then splits sentences with an untrained Punkt model
(same Treebank word tokenizer) and says so in the settings. Speed: WordNet look-ups, Porter stems and
tokenizations are memoized, and the synonym stage looks up each word's synonym set once per run
instead of rebuilding it from WordNet lemmas for every word of every pair (`make_pair_scorer`: NLTK's
own exact and stem stages, chunk count and formula around it; equal to `single_meteor_score` on every
pair, which tests and benchmarks/score.py check; an NLTK without those helpers gets the library call).
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import version

import numpy as np

from dpbench.errors import DpbenchError
from dpbench.metrics import SPECS
from dpbench.metrics.base import CachedStemmer, MetricScores, map_chunks, worker_count

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


class SynonymSets:
    """word -> frozenset of its WordNet synonyms without "_" plus the word itself: the set NLTK's
    synonym stage builds for each hypothesis word, built once per word."""

    def __init__(self, wordnet):
        self._wordnet = wordnet
        self._sets: dict[str, frozenset[str]] = {}

    def __call__(self, word: str) -> frozenset[str]:
        got = self._sets.get(word)
        if got is None:
            names = {lem.name() for syn in self._wordnet.synsets(word) for lem in syn.lemmas()}
            got = self._sets[word] = frozenset(n for n in names if n.find("_") < 0) | {word}
        return got


def synonym_stage(hyp: list[tuple[int, str]], ref: list[tuple[int, str]], synonyms: SynonymSets):
    """NLTK's `_enum_wordnetsyn_match` (3.9+): walking the hypothesis from its end, each word takes the
    highest still-unmatched reference position whose word is one of its synonyms."""
    ref_positions: dict[str, list[int]] = {}
    for j, (_, word) in enumerate(ref):
        ref_positions.setdefault(word, []).append(j)
    matches = []
    for i in range(len(hyp) - 1, -1, -1):
        best_j, best_word = -1, None
        for syn in synonyms(hyp[i][1]).intersection(ref_positions):  # C loop over the smaller side
            positions = ref_positions[syn]
            if positions and positions[-1] > best_j:
                best_j, best_word = positions[-1], syn
        if best_word is not None:
            ref_positions[best_word].pop()
            matches.append((hyp[i][0], ref[best_j][0]))
    return matches


def make_pair_scorer(wordnet, stemmer):
    """score(ref_tokens, hyp_tokens) equal to NLTK's single_meteor_score with these settings."""
    import nltk.translate.meteor_score as nm

    helpers = ("_generate_enums", "_match_enums", "_enum_stem_match", "_count_chunks")
    if not all(hasattr(nm, h) for h in helpers):  # another NLTK layout: the library call
        return lambda ref, hyp: nm.single_meteor_score(ref, hyp, stemmer=stemmer, wordnet=wordnet,
                                                       alpha=ALPHA, beta=BETA, gamma=GAMMA)
    synonyms = SynonymSets(wordnet)

    def score_pair(ref, hyp) -> float:
        enum_hyp, enum_ref = nm._generate_enums(hyp, ref)
        exact, hyp_left, ref_left = nm._match_enums(enum_hyp, enum_ref)
        stem, hyp_left, ref_left = nm._enum_stem_match(hyp_left, ref_left, stemmer=stemmer)
        matches = sorted(exact + stem + synonym_stage(hyp_left, ref_left, synonyms), key=lambda m: m[0])
        n = len(matches)
        if n == 0:  # also covers an empty side; the library returns 0 on its ZeroDivisionError
            return 0.0
        precision, recall = float(n) / len(enum_hyp), float(n) / len(enum_ref)
        fmean = (precision * recall) / (ALPHA * precision + (1 - ALPHA) * recall)
        frag = float(nm._count_chunks(matches)) / n
        return (1 - GAMMA * frag**BETA) * fmean

    return score_pair


def score_chunk(predictions: list[str], references: list[str], allow_missing: bool) -> np.ndarray:
    from nltk.stem.porter import PorterStemmer

    wordnet, _ = load_wordnet(allow_missing)
    tokenize, _ = make_word_tokenizer()
    score_pair = make_pair_scorer(wordnet, CachedStemmer(PorterStemmer()))
    return np.array([score_pair(tokenize(ref), tokenize(pred))
                     for pred, ref in zip(predictions, references, strict=True)], dtype=np.float64)


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
