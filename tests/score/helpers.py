"""Hand-built benchmarks and run directories for score tests (the public tables of docs/benchmark.md)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from dpbench.schema import PredictionRecord, RunSpec

TOY_REF = "The blender is powerful and easy to clean, but it is quite loud."
TOY_HYP = "This blender is very powerful and simple to clean, though a bit noisy."


def make_benchmark(root: Path, references: dict[str, str], split: str = "test", fingerprint: str = "fp-toy") -> Path:
    """data/<name>/benchmark.duckdb with `examples` (and empty sibling tables) + build_info.fingerprint."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "benchmark.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""CREATE TABLE examples (example_id VARCHAR, split VARCHAR, user_id VARCHAR, item_id VARCHAR,
                   target_review_id VARCHAR, target_ts BIGINT, rating DOUBLE, review_title VARCHAR,
                   reference VARCHAR)""")
    for i, (eid, ref) in enumerate(sorted(references.items())):
        con.execute("INSERT INTO examples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [eid, split, f"u{i}", f"i{i}", f"r{i}", 1000 + i, 5.0, "title", ref])
    con.execute("CREATE TABLE reviews (review_id VARCHAR, user_id VARCHAR, item_id VARCHAR, rating DOUBLE, "
                "title VARCHAR, text VARCHAR, ts BIGINT)")
    con.execute("CREATE TABLE items (item_id VARCHAR, title VARCHAR, description VARCHAR, category VARCHAR)")
    con.execute("CREATE TABLE history (example_id VARCHAR, position INT, review_id VARCHAR, item_id VARCHAR, "
                "ts BIGINT)")
    con.execute("CREATE TABLE peers (example_id VARCHAR, item_id VARCHAR, peer_user_id VARCHAR, "
                "peer_review_id VARCHAR, peer_ts BIGINT)")
    con.execute("CREATE TABLE build_info (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO build_info VALUES ('fingerprint', ?)", [fingerprint])
    con.close()
    return root


def make_run(run_dir: Path, data: Path, predictions: dict[str, str] | list[dict], *, method: str = "rag",
             model: str = "smollm2-135m", run_id: str | None = None, split: str = "test",
             fingerprint: str = "fp-toy", example_ids: list[str] | None = None, shard: str | None = None,
             n_expected_all: int = 0, raw_lines: list[str] | None = None,
             method_args: dict | None = None, status: str = "complete") -> Path:
    """A run directory: manifest.json, example_ids.txt and predictions.jsonl (plus raw extra lines)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(predictions, dict):
        records = [PredictionRecord(example_id=k, prediction=v) for k, v in predictions.items()]
    else:
        records = [PredictionRecord(**r) for r in predictions]
    ids = example_ids if example_ids is not None else sorted(r.example_id for r in records)
    spec = RunSpec(run_id=run_id or run_dir.name, method=method, model=model, backend="local", split=split,
                   data_path=str(data), benchmark_fingerprint=fingerprint, recipe={}, recipe_hash="h",
                   sampling={}, seed=0, shard=shard, n_expected=len(ids), n_expected_all=n_expected_all or len(ids),
                   method_args=method_args or {}, status=status)
    (run_dir / "manifest.json").write_text(spec.model_dump_json(indent=2))
    (run_dir / "example_ids.txt").write_text("".join(f"{i}\n" for i in ids))
    lines = [r.model_dump_json() for r in records] + list(raw_lines or [])
    (run_dir / "predictions.jsonl").write_text("".join(f"{line}\n" for line in lines))
    return run_dir


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def make_paired_outputs(tmp_path: Path) -> Path:
    """30 examples; a nonpersonal run far from the references and a rag run close to them (significant)."""
    refs = {f"e{i:02d}": f"{TOY_REF} Review number {i} says the motor is strong." for i in range(30)}
    bench = make_benchmark(tmp_path / "data" / "toy", refs)
    out = tmp_path / "outputs"
    make_run(out / "np", bench, dict.fromkeys(refs, "A product."), method="nonpersonal")
    make_run(out / "rag", bench, {k: v.replace("The", "This") for k, v in refs.items()}, method="rag")
    return out
