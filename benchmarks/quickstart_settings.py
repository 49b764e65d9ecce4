"""Choose the embedded default's decoding settings on the **val** split (never on the test slice a
leaderboard reports): each candidate setting runs the prompt methods on the same val examples with the
quickstart's engine, and the table shows each method's output health (empty / loop / echo / meta /
cut), ROUGE-L with its 95% CI, tokens and wall time, side by side.

    python benchmarks/quickstart_settings.py --data data/sample --limit 40
    python benchmarks/quickstart_settings.py --candidates "rp=1.0" "rp=1.15" "rp=1.15,nr=4"

Candidate keys: rp = repetition_penalty, fp = frequency_penalty, pp = presence_penalty,
nr = no_repeat_ngram_size, mt = max_tokens, ps = prompt_style. The docs (docs/health.md) record the run that chose the
quickstart recipe's settings.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KEYS = {"ps": "generation.prompt_style", "rp": "generation.repetition_penalty", "fp": "generation.frequency_penalty",
        "pp": "generation.presence_penalty", "nr": "generation.no_repeat_ngram_size", "mt": "generation.max_tokens"}
METHODS = ("nonpersonal", "rag", "pag", "dpl")


def parse_candidate(text: str) -> dict:
    out = {}
    for part in filter(None, text.split(",")):
        k, _, v = part.partition("=")
        v = v.strip()
        out[KEYS[k.strip()]] = float(v) if v.replace(".", "", 1).isdigit() and "." in v else int(v) if v.isdigit() else v
    return out


def run_candidate(data: Path, limit: int, overrides: dict, backend, out: Path, cache) -> list[dict]:
    from rich.console import Console

    from dpbench.metrics.config import ScoreConfig
    from dpbench.recipes import load_recipe
    from dpbench.run import run_method
    from dpbench.run.config import RunConfig
    from dpbench.score.scoring import score_results

    recipe = load_recipe("quickstart", overrides=overrides or None)
    quiet = Console(file=io.StringIO())
    rows, dirs = [], []
    for method in METHODS:
        cfg = RunConfig(method=method, data=data, recipe=recipe, split="val", limit=limit, backend="local",
                        model="smollm2-135m", out=out, dtype="auto", concurrency=8)
        t0 = time.perf_counter()
        dirs.append(run_method(cfg, quiet, backend=backend, cache=cache))
        rows.append({"method": method, "wall_s": time.perf_counter() - t0})
    scored = score_results(dirs, ScoreConfig(metrics=("rouge",), bootstrap_resamples=1000, default_baseline=None,
                                             write_files=False))
    by_method = {r.record.method: r for r in scored.results}
    for row in rows:
        res = by_method[row["method"]]
        h, m = res.record.health, res.record.metrics["rougeL"]
        row.update({k: h.get(k) for k in ("empty", "cut", "loop", "echo", "meta", "degenerate")})
        row.update(rougeL=m.value, half_width=(m.ci_high - m.ci_low) / 2, n=res.record.n_expected,
                   tokens=res.run.spec.usage.prompt_tokens + res.run.spec.usage.completion_tokens,
                   intermediates={k: v.get("degenerate") for k, v in h.get("intermediates", {}).items()})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("data/sample"))
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--candidates", nargs="*", default=["rp=1.0", "rp=1.1", "rp=1.2", "rp=1.2,nr=4"])
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    from dpbench.llm.cache import ResponseCache
    from dpbench.llm.factory import make_backend

    backend = make_backend("local", "smollm2-135m", concurrency=8, dtype="auto")  # one model for every run
    table = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = ResponseCache(Path(tmp) / "responses.sqlite")
        for cand in a.candidates:
            t0 = time.perf_counter()
            table[cand] = run_candidate(a.data, a.limit, parse_candidate(cand), backend, Path(tmp) / cand, cache)
            print(f"candidate {cand}: {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"\nval split, first {a.limit} examples, engine transformers bf16 (auto), quickstart recipe otherwise")
    print(f"{'candidate':<14} {'method':<12} {'empty':>6} {'cut':>5} {'loop':>5} {'echo':>5} {'meta':>5} "
          f"{'degen':>6} {'ROUGE-L':>8} {'±95%':>6} {'tokens':>8} {'wall s':>7}  intermediates degenerate")
    for cand, rows in table.items():
        for r in rows:
            pct = lambda v: "  —" if v is None else f"{v:.0%}"  # noqa: E731
            inter = ", ".join(f"{k} {v:.0%}" for k, v in r["intermediates"].items() if v is not None)
            print(f"{cand:<14} {r['method']:<12} {pct(r['empty']):>6} {pct(r['cut']):>5} {pct(r['loop']):>5} "
                  f"{pct(r['echo']):>5} {pct(r['meta']):>5} {pct(r['degenerate']):>6} {r['rougeL']:>8.4f} "
                  f"{r['half_width']:>6.3f} {r['tokens']:>8} {r['wall_s']:>7.0f}  {inter}")
    if a.json:
        a.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
