"""Speed of dpbench's metrics vs a naive per-example loop through the same libraries (not a test).

    .venv/bin/python benchmarks/score.py [--n 10000] [--bertscore-n 1000] [--only rouge,bleu,meteor,bertscore,bertscore-runs]

Pairs: each reference is a real review (../shared/data/real, Musical Instruments 2014 5-core), its
"prediction" another user's review of the same item; synthetic text when that file is absent. For each
metric it times both paths, checks the numbers are identical (max |diff|), and prints examples/s.
`bertscore-runs` is what `dpbench score outputs/` meets: RUNS runs on the same references (each run's
predictions are other, distinct reviews), scored per example naively vs in one shared call (each
reference embedded once).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "data" / "real" / "reviews_Musical_Instruments_5.json.gz"


def load_pairs(n: int) -> tuple[list[str], list[str], str]:
    rng = random.Random(0)
    if REAL.exists():
        rows = [json.loads(line) for line in gzip.open(REAL, "rt", encoding="utf-8")]
        rows = [r for r in rows if r.get("reviewText", "").strip()]
        by_item = defaultdict(list)
        for r in rows:
            by_item[r["asin"]].append(r["reviewText"])
        preds, refs = [], []
        for r in rows:
            others = [t for t in by_item[r["asin"]] if t != r["reviewText"]] or [rng.choice(rows)["reviewText"]]
            refs.append(r["reviewText"])
            preds.append(rng.choice(others))
        while len(refs) < n:  # repeat with a fresh pairing if the file is short
            i, j = rng.randrange(len(rows)), rng.randrange(len(rows))
            refs.append(rows[i]["reviewText"])
            preds.append(rows[j]["reviewText"])
        return preds[:n], refs[:n], f"real reviews ({REAL.name})"
    words = ["the", "a", "great", "sound", "guitar", "strings", "cable", "works", "well", "price", "quality", "good", "bad", "loud", "clean", "easy"]
    make = lambda: " ".join(rng.choice(words) for _ in range(rng.randint(20, 120))) + "."  # noqa: E731
    return [make() for _ in range(n)], [make() for _ in range(n)], "synthetic text"


def naive_rouge(preds, refs):
    from rouge_score import rouge_scorer

    sc = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=False)
    out = [sc.score(r, p) for p, r in zip(preds, refs, strict=True)]
    return {"rouge1": np.array([o["rouge1"].fmeasure for o in out]),
            "rougeL": np.array([o["rougeL"].fmeasure for o in out])}


def naive_bleu(preds, refs):
    import sacrebleu

    return {"bleu": np.array([sacrebleu.corpus_bleu(preds, [refs]).score]),
            "bleu_sentence": np.array([sacrebleu.sentence_bleu(p, [r]).score
                                       for p, r in zip(preds, refs, strict=True)])}


def naive_meteor(preds, refs):
    from nltk.corpus import wordnet
    from nltk.tokenize import _treebank_word_tokenizer, word_tokenize
    from nltk.tokenize.punkt import PunktSentenceTokenizer
    from nltk.translate.meteor_score import single_meteor_score

    from dpbench.metrics.meteor import make_word_tokenizer

    _, desc = make_word_tokenizer()
    if "punkt_tab" in desc and "missing" not in desc:
        tok = word_tokenize
    else:  # the same untrained-Punkt pipeline dpbench falls back to, uncached
        splitter = PunktSentenceTokenizer()
        tok = lambda t: [w for s in splitter.tokenize(t) for w in _treebank_word_tokenizer.tokenize(s)]  # noqa: E731
    return {"meteor": np.array([single_meteor_score(tok(r), tok(p), alpha=0.9, beta=3, gamma=0.5, wordnet=wordnet)
                                for p, r in zip(preds, refs, strict=True)])}


def naive_bertscore(preds, refs):
    from dpbench.metrics.bertscore import load_scorer, resolve_model

    model, layer = resolve_model("minilm-l6", None)
    scorer = load_scorer(model, layer, None, 64)  # loaded once, as a careful naive user would
    return {"bertscore_f1": np.array([float(scorer.score([p], [r])[2][0]) for p, r in zip(preds, refs, strict=True)])}


RUNS = 5


def several_runs(preds, refs):
    """RUNS distinct prediction sets on the same references (run 0: `preds`; run k: the predictions of the
    next block of pairs, whose texts differ)."""
    return load_pairs(len(refs) * RUNS)[0], refs * RUNS


def naive_bertscore_runs(preds, refs):
    return naive_bertscore(*several_runs(preds, refs))


def fast_bertscore_runs(preds, refs):
    from dpbench.metrics import bertscore
    from dpbench.metrics.config import ScoreConfig

    cfg, n = ScoreConfig(), len(refs)
    all_preds, all_refs = several_runs(preds, refs)
    with bertscore.shared_pairs(all_preds, all_refs, cfg):
        parts = [bertscore.compute(all_preds[k * n:(k + 1) * n], refs, cfg)[0].per_example for k in range(RUNS)]
    return {"bertscore_f1": np.concatenate(parts)}


def fast(family, preds, refs):
    from dpbench.metrics import get_compute
    from dpbench.metrics.config import ScoreConfig

    if family == "bertscore-runs":
        return fast_bertscore_runs(preds, refs)

    cols = get_compute(family)(preds, refs, ScoreConfig())
    return {c.spec.name: (np.array([c.value()]) if c.spec.aggregation == "corpus" else c.per_example) for c in cols}


def run_worker(family: str, mode: str, n: int, out: str) -> None:
    """One timed path in a fresh process, so neither path inherits the other's warm caches."""
    from dpbench.doctor import _ensure_nltk_path

    _ensure_nltk_path()
    preds, refs, _ = load_pairs(n)
    fn = (lambda p, r: fast(family, p, r)) if mode == "fast" else NAIVE[family]
    if family in ("bertscore", "bertscore-runs", "meteor"):
        fn(preds[:8], refs[:8])  # one-time start-up (model load; WordNet's ~10 s index load) stays outside
    t0, c0 = time.perf_counter(), cpu_seconds()
    values = fn(preds, refs)
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    np.savez(out, elapsed=elapsed, cpu=cpu, **values)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (worker pools): robust on a busy machine."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


NAIVE = {"rouge": naive_rouge, "bleu": naive_bleu, "meteor": naive_meteor, "bertscore": naive_bertscore,
         "bertscore-runs": naive_bertscore_runs}


def measure(family: str, mode: str, n: int, tmp: Path) -> tuple[float, float, dict[str, np.ndarray]]:
    import subprocess

    out = tmp / f"{family}-{mode}.npz"
    subprocess.run([sys.executable, __file__, "--worker", family, mode, str(n), str(out)], check=True)
    data = np.load(out)
    return float(data["elapsed"]), float(data["cpu"]), {k: data[k] for k in data.files if k not in ("elapsed", "cpu")}


def main() -> None:
    import tempfile

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--bertscore-n", type=int, default=1_000)
    ap.add_argument("--runs-n", type=int, default=200, help="references in the bertscore-runs case")
    ap.add_argument("--only", default="rouge,bleu,meteor,bertscore,bertscore-runs")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        family, mode, n, out = args.worker
        return run_worker(family, mode, int(n), out)
    _, refs, source = load_pairs(args.n)
    print(f"{args.n} pairs of {source}; mean reference length {np.mean([len(r.split()) for r in refs]):.0f} words; "
          f"each path timed in a fresh process")
    import os

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; ex/s = examples per wall second, "
          f"ex/cpu-s = per CPU second (self + worker processes)")
    print(f"{'metric':<10} {'pairs':>6} {'naive ex/s':>11} {'dpbench ex/s':>13} {'speed-up':>9} "
          f"{'naive ex/cpu-s':>15} {'dpbench ex/cpu-s':>17} {'cpu speed-up':>13} {'max |diff|':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.only.split(","):
            n = {"bertscore": args.bertscore_n, "bertscore-runs": args.runs_n}.get(family, args.n)
            t_naive, c_naive, theirs = measure(family, "naive", n, Path(tmp))
            t_fast, c_fast, ours = measure(family, "fast", n, Path(tmp))
            n = n * RUNS if family == "bertscore-runs" else n  # pairs scored
            diff = max(float(np.max(np.abs(ours[k] - theirs[k]))) for k in theirs)
            print(f"{family:<10} {n:>6} {n / t_naive:>11.1f} {n / t_fast:>13.1f} {t_naive / t_fast:>8.1f}x "
                  f"{n / c_naive:>15.1f} {n / c_fast:>17.1f} {c_naive / c_fast:>12.1f}x {diff:>11.2e}", flush=True)


if __name__ == "__main__":
    main()
