"""Run directories for view tests: real runs of the prompt methods on the tiny benchmark (scripted
backend), a DEP run written by hand, hostile texts planted in the data, and a synthetic project at
the scale of a real benchmark (5 runs × 2,000 examples)."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import duckdb
from rich.console import Console

from dpbench.schema import PredictionRecord, RunSpec
from tests.helpers.fake_backend import FakeBackend, FakeEmbedder
from tests.helpers.tiny_benchmark import write_tiny_benchmark


# Each would run script if it were ever parsed as HTML; `mark` says where it was planted.
def hostile(mark: str) -> str:
    return (f'<img src=x onerror="window.__xss=(window.__xss||0)+1;document.title=\'XSS {mark}\'">'
            f"</script><script>window.__xss=(window.__xss||0)+1</script><!-- {mark}")


HOSTILE_REVIEW, HOSTILE_ITEM, HOSTILE_MODEL = "r0_0", "i0", hostile("model")
LOOP = "great great great great great great great great"  # DEP's first example: a repetition loop; its second fails


def plant_hostile(bench: Path) -> None:
    """A review text, a review title and an item title that hold markup (the fingerprint stays)."""
    con = duckdb.connect(str(bench / "benchmark.duckdb"))
    con.execute("UPDATE reviews SET text = ? || ' ' || text, title = ? WHERE review_id = ?",
                [hostile("review"), hostile("review title"), HOSTILE_REVIEW])
    con.execute("UPDATE items SET title = ? WHERE item_id = ?", [hostile("item"), HOSTILE_ITEM])
    con.close()


def run_prompt_methods(bench: Path, out: Path, cache) -> list[Path]:
    from dpbench.recipes import load_recipe
    from dpbench.run import run_method
    from dpbench.run.config import RunConfig

    quiet = Console(file=io.StringIO())
    dirs = []
    for method in ("nonpersonal", "rag", "pag", "dpl"):
        cfg = RunConfig(method=method, data=bench, recipe=load_recipe("sample"), out=out)
        backend = FakeBackend(respond=lambda req, m=method: f"Great {m} review: works perfectly, the kettle is loud.")
        dirs.append(run_method(cfg, quiet, backend=backend, embedder=FakeEmbedder(), cache=cache))
    return dirs


def write_run(run_dir: Path, spec: RunSpec, records: list[PredictionRecord]) -> Path:
    """A run directory as the run store leaves it (tests only: dpbench writes them through dpbench.run.store)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "manifest.json").write_text(spec.model_dump_json(indent=2))
    (run_dir / "example_ids.txt").write_text("".join(f"{r.example_id}\n" for r in records))
    (run_dir / "predictions.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in records))
    return run_dir


def spec_for(run_id: str, method: str, bench: Path, fingerprint: str, n: int, model: str = "smollm2-135m",
             **kw) -> RunSpec:
    return RunSpec(run_id=run_id, method=method, model=model, backend="local", split="test", data_path=str(bench),
                   benchmark_fingerprint=fingerprint, recipe={"name": "synthetic"}, recipe_hash="h",
                   sampling={"temperature": 0.0}, seed=0, n_expected=n, n_expected_all=n, status="complete", **kw)


def write_dep_run(bench: Path, out: Path, model: str = HOSTILE_MODEL, n_slots: int = 4) -> Path:
    """DEP's trace shape (dpbench.methods.dep.inputs): the two newest history entries fill slots, the rest masked."""
    con = duckdb.connect(str(bench / "benchmark.duckdb"), read_only=True)
    ids = [r[0] for r in con.execute("SELECT example_id FROM examples WHERE split = 'test' ORDER BY example_id").fetchall()]
    records = []
    for n, eid in enumerate(ids):
        hist = con.execute("SELECT position, review_id, item_id FROM history WHERE example_id = ? AND position < 2 "
                           "ORDER BY position", [eid]).fetchall()
        trace = {"slot_item_ids": [h[2] for h in hist], "slot_review_ids": [h[1] for h in hist],
                 "slot_positions": [h[0] for h in hist], "slot_n_peers": [7] * len(hist),
                 "mask": [True] * len(hist) + [False] * (n_slots - len(hist)), "prompt_truncated": False,
                 "checkpoint": "outputs/dep-train/checkpoints/best", "ablate": "none", "batch_size": 4}
        text = LOOP if n == 0 else "" if n == 1 else "The blender is powerful and quite loud."
        records.append(PredictionRecord(example_id=eid, prediction=text, raw=text, finish_reason="stop", trace=trace,
                                        error="RuntimeError: CUDA out of memory" if n == 1 else None))
    con.close()
    spec = spec_for("dep-run", "dep", bench, "tiny-fingerprint", len(ids), model=model,
                    method_args={"ablate": "none", "embedder": "minilm-l6"})
    return write_run(out / "dep-run", spec, records)


def make_project(root: Path, cache) -> Path:
    """data/tiny (hostile texts planted) and outputs/ with 5 runs (nonpersonal, rag, pag, dpl, dep), scored."""
    from dpbench.metrics.config import ScoreConfig
    from dpbench.score import score_runs

    bench = write_tiny_benchmark(root / "data" / "tiny")
    plant_hostile(bench)
    out = root / "outputs"
    run_prompt_methods(bench, out, cache)
    write_dep_run(bench, out)
    score_runs([out], ScoreConfig(metrics=("rouge", "bleu"), bootstrap_resamples=50, workers=1))
    return out


# -- scale ------------------------------------------------------------------------------------------
SCALE_METHODS = ("nonpersonal", "rag", "pag", "dpl", "dep")


class Texts:
    """Review-like texts of a given length from a fixed pool of sentences (fast, deterministic)."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        words = ["sound", "quality", "battery", "price", "great", "poor", "loved", "returned", "cheap", "sturdy",
                 "plot", "characters", "ending", "author", "pages", "story", "slow", "pacing", "vocals", "album",
                 "track", "lyrics", "movie", "acting", "scenes", "recommend", "disappointed", "excellent",
                 "arrived", "quickly", "broke", "months", "product", "works", "perfectly"]
        self.pool = [" ".join(self.rng.choice(words) for _ in range(self.rng.randint(6, 16))).capitalize() + "."
                     for _ in range(3000)]

    def __call__(self, lo: int, hi: int) -> str:
        n, parts, size = self.rng.randint(lo, hi), [], 0
        while size < n:
            s = self.rng.choice(self.pool)
            parts.append(s)
            size += len(s) + 1
        return " ".join(parts)[:n]


def write_scale_project(root: Path, n_examples: int = 2000, n_items: int = 4000, seed: int = 0) -> Path:
    """A benchmark with the public tables (paper-like lengths: reviews 200-1,200 characters, descriptions
    100-2,000, 10-80 past reviews per user) and five scored runs with full traces. Returns outputs/."""
    import pandas as pd

    rng, text = random.Random(seed), Texts(seed)
    bench = root / "data" / "scale"
    bench.mkdir(parents=True, exist_ok=True)
    base_ts = 1_500_000_000_000
    item_id = lambda i: f"B{i:09d}"  # ids as long as real ones: ASINs, 28-character user ids, 20-character hashes
    items = pd.DataFrame({"item_id": [item_id(i) for i in range(n_items)],
                          "title": [text(20, 90) for _ in range(n_items)],
                          "description": [text(100, 2000) for _ in range(n_items)],
                          "category": "Books"})
    reviews, examples, history = [], [], []
    for u in range(n_examples):
        n_hist = rng.randint(10, 80)
        user = f"AE{u:026d}"
        for j in range(n_hist + 1):
            ts = base_ts + u * 3_600_000 + j * 86_400_000
            reviews.append((f"{u:010d}{j:010d}", user, item_id(rng.randrange(n_items)), float(rng.randint(1, 5)),
                            text(10, 60), text(200, 1200), ts))
        target = reviews[-1]
        eid = f"{u:020x}"
        examples.append((eid, "test", user, target[2], target[0], target[6], target[3], target[4], target[5]))
        for pos in range(n_hist):
            r = reviews[-2 - pos]
            history.append((eid, pos, r[0], r[2], r[6]))
    rv = pd.DataFrame(reviews, columns=["review_id", "user_id", "item_id", "rating", "title", "text", "ts"])
    ex = pd.DataFrame(examples, columns=["example_id", "split", "user_id", "item_id", "target_review_id", "target_ts",
                                         "rating", "review_title", "reference"])
    hi = pd.DataFrame(history, columns=["example_id", "position", "review_id", "item_id", "ts"])
    con = duckdb.connect(str(bench / "benchmark.duckdb"))
    for name, df in (("items", items), ("reviews", rv), ("examples", ex), ("history", hi)):
        con.register("df", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM df")
        con.unregister("df")
    con.execute("CREATE TABLE peers (example_id VARCHAR, item_id VARCHAR, peer_user_id VARCHAR, "
                "peer_review_id VARCHAR, peer_ts BIGINT)")
    con.execute("CREATE TABLE build_info (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO build_info VALUES ('fingerprint', 'fp-scale')")
    con.close()
    hist_of: dict[str, list[tuple]] = {}
    for h in history:
        hist_of.setdefault(h[0], []).append(h)
    out = root / "outputs"
    for method in SCALE_METHODS:
        records, rows = [], []
        for e in examples:
            eid, target_ts = e[0], e[5]
            hist = hist_of[eid]
            pred = text(300, 1500)
            trace = scale_trace(method, hist, target_ts, text, random.Random(eid))
            records.append(PredictionRecord(example_id=eid, prediction=pred, raw=pred, finish_reason="stop",
                                            latency_s=1.5, trace=trace))
            rows.append({"example_id": eid, "status": "ok", "prediction_chars": len(pred), "health": [],
                         "rouge1": rng.random() * 0.4, "rougeL": rng.random() * 0.3, "meteor": rng.random() * 0.3,
                         "bleu_sentence": rng.random() * 20, "bertscore_f1": 0.8 + rng.random() * 0.1})
        spec = spec_for(f"scale-{method}", method, bench, "fp-scale", len(records), model="qwen2.5-7b-instruct")
        run_dir = write_run(out / f"scale-{method}", spec, records)
        (run_dir / "example_scores.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (run_dir / "scores.json").write_text(json.dumps({"metrics": {"rouge1": {"value": 0.2}}, "flags": [],
                                                         "health": {"unhealthy": False}}))
    return out


def scale_trace(method: str, hist: list[tuple], target_ts: int, text: Texts, rng: random.Random) -> dict:
    """A method's trace as the methods write it (sizes as the paper recipe: k = 8, 8 items, 4 peers).
    `rng` is seeded by the example, so RAG, PAG and DPL retrieve the same reviews (one BM25 ranking) and
    DPL's items are the best-ranked of them, as the methods do."""
    ranked = rng.sample(hist, min(12, len(hist)))
    retrieved = [{"review_id": h[2], "item_id": h[3], "position": h[1], "score": round(20 - j, 4)}
                 for j, h in enumerate(ranked[:8])]
    if method == "nonpersonal":
        return {"method": method}
    if method == "rag":
        return {"method": method, "retriever": "bm25", "retrieved": retrieved}
    if method == "pag":
        return {"method": method, "retriever": "bm25", "retrieved": retrieved, "profile_summary": text(500, 1500)}
    if method == "dpl":
        items = [{"item_id": h[3], "item_title": "", "review_id": h[2], "position": h[1], "bm25": rng.random(),
                  "n_peers_available": rng.randint(4, 200),
                  "peers": [{"review_id": f"{rng.randrange(10**20):020d}", "user_id": f"AF{rng.randrange(10**26):026d}",
                             "ts": target_ts - rng.randint(1, 900) * 86_400_000, "rating": 4.0, "title": text(10, 50),
                             "text": text(200, 600)} for k in range(4)],
                  "difference": text(200, 600)} for h in ranked[:8]]
        return {"method": method, "items": items, "summary": text(500, 1500), "retriever": "bm25",
                "retrieved": retrieved, "target_ts": target_ts}
    slots = hist[:8]
    return {"slot_item_ids": [h[3] for h in slots], "slot_review_ids": [h[2] for h in slots],
            "slot_positions": [h[1] for h in slots], "slot_n_peers": [rng.randint(1, 64) for _ in slots],
            "mask": [True] * len(slots) + [False] * (8 - len(slots)), "prompt_truncated": False}
