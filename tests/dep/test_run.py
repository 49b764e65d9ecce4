"""run_dep end to end with a tiny local Llama and a fake embedder: run directory contract, resume,
--checkpoint generation, and user-facing errors."""

from __future__ import annotations

import json

import pytest

from dpbench.errors import DpbenchError
from dpbench.methods.dep.model import WEIGHTS_FILE
from dpbench.recipes import load_recipe
from dpbench.run.config import RunConfig
from dpbench.run.store import read_example_ids, read_manifest
from tests.dep.helpers import FakeEmbedder, make_tiny_benchmark, save_tiny_model

OVERRIDES = {"dep.n_slots": 4, "dep.max_prompt_tokens": 400, "dep.batch_size": 4, "dep.gen_batch_size": 4,
             "dep.max_target_tokens": 12, "generation.max_tokens": 6, "dep.lr": 1e-2}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("deprun")
    data = make_tiny_benchmark(root / "data", n_users=6, n_targets=4)
    model = save_tiny_model(root / "model")
    return root, data, model


@pytest.fixture(autouse=True)
def fake_embedder(monkeypatch):
    monkeypatch.setattr("dpbench.embed.Embedder", lambda name, **kw: FakeEmbedder(16))


def _cfg(env, **kw):
    root, data, model = env
    recipe = load_recipe("sample", overrides=OVERRIDES)
    base = {"method": "dep", "data": data, "recipe": recipe, "model": str(model), "out": root / "out", "device": "cpu"}
    base.update(kw)
    return RunConfig(**base)


def _preds(path):
    return [json.loads(line) for line in (path / "predictions.jsonl").read_text().splitlines()]


def test_train_then_generate_contract_and_resume(env):
    from dpbench.run.dep import run_dep

    path = run_dep(_cfg(env, run_id="r1"))
    spec = read_manifest(path)
    assert spec.method == "dep" and spec.backend == "transformers" and spec.status == "complete"
    assert spec.n_expected == spec.n_done == 6 and spec.benchmark_fingerprint == "tiny-test-4"
    assert spec.dep.train_steps == 3  # 6 users x 2 train examples / batch 4
    preds = _preds(path)
    assert sorted(p["example_id"] for p in preds) == sorted(read_example_ids(path))
    p0 = preds[0]
    assert p0["error"] is None and p0["usage"]["completion_tokens"] <= 6 and p0["usage"]["prompt_tokens"] > 20
    assert len(p0["trace"]["mask"]) == 4 and p0["trace"]["ablate"] == "none"
    assert len(p0["trace"]["slot_item_ids"]) == sum(p0["trace"]["mask"])
    ck = path / "checkpoints" / "best"
    assert sum(f.stat().st_size for f in ck.iterdir()) < 1_000_000  # module only, not the LLM
    assert (path / "train_loss.png").exists() and (path / "train_log.jsonl").exists()

    # a kill mid-generation: the last line is lost; rerunning fills it in, training is not repeated
    lines = (path / "predictions.jsonl").read_text().splitlines(keepends=True)
    (path / "predictions.jsonl").write_text("".join(lines[:-1]) + lines[-1][:10])
    mtime = (ck / WEIGHTS_FILE).stat().st_mtime
    run_dep(_cfg(env, run_id="r1"))
    again = _preds(path)
    assert [p["prediction"] for p in again] == [p["prediction"] for p in preds]
    assert (ck / WEIGHTS_FILE).stat().st_mtime == mtime

    # --checkpoint: generation only, same greedy outputs, val loss recorded
    path2 = run_dep(_cfg(env, run_id="r2", checkpoint=path / "checkpoints"))
    spec2 = read_manifest(path2)
    assert not (path2 / "checkpoints").exists()
    assert "ce" in spec2.dep.val
    assert {p["example_id"]: p["prediction"] for p in _preds(path2)} == {p["example_id"]: p["prediction"] for p in preds}

    # the same checkpoint with its embeddings zeroed changes the val loss
    path3 = run_dep(_cfg(env, run_id="r3", checkpoint=path / "checkpoints", ablate="both", limit=1))
    assert read_manifest(path3).dep.val["ce"] != spec2.dep.val["ce"]


def test_bad_checkpoint_is_a_user_error(env, tmp_path):
    from dpbench.run.dep import run_dep

    with pytest.raises(DpbenchError, match="dep_config.json"):
        run_dep(_cfg(env, run_id="bad", checkpoint=tmp_path, limit=1))


def test_failed_examples_are_retried_and_another_benchmark_is_refused(env, tmp_path):
    import shutil

    import duckdb

    from dpbench.run.dep import run_dep

    path = run_dep(_cfg(env, run_id="retry", limit=3))
    good = _preds(path)
    broken = [dict(good[0], prediction="", raw="", error="RuntimeError: out of memory")] + good[1:]
    (path / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in broken))
    again = run_dep(_cfg(env, run_id="retry", limit=3))
    spec, lines = read_manifest(again), _preds(again)
    assert spec.status == "complete" and spec.n_errors == 0 and len(lines) == 3
    assert sorted(p["example_id"] for p in lines) == sorted(p["example_id"] for p in good)
    assert {p["example_id"]: p["prediction"] for p in lines} == {p["example_id"]: p["prediction"] for p in good}

    # the same command against a rebuilt benchmark (another fingerprint) is refused, not appended to
    root, data, model = env
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(data, rebuilt)
    con = duckdb.connect(str(rebuilt / "benchmark.duckdb"))
    con.execute("UPDATE build_info SET value = 'rebuilt' WHERE key = 'fingerprint'")
    con.close()
    with pytest.raises(DpbenchError, match="benchmark_fingerprint='tiny-test-4' \\(this command: 'rebuilt'\\)"):
        run_dep(_cfg(env, run_id="retry", limit=3, data=rebuilt))
    assert len(_preds(path)) == 3


def test_controls_are_trained_or_evaluated_and_recorded(env):
    """`dep.control = "trained-zero"` trains the same module again with the user vectors zeroed into
    run/control/ and records its val CE beside the trained one's; a rerun loads both, trains neither."""
    from dpbench.run.dep import run_dep

    root, data, model = env
    recipe = load_recipe("sample", overrides={**OVERRIDES, "dep.control": "trained-zero"})
    cfg = RunConfig(method="dep", data=data, recipe=recipe, model=str(model), out=root / "out", device="cpu",
                    run_id="ctl", limit=2)
    path = run_dep(cfg)
    dep = read_manifest(path).dep
    assert dep.control == "trained-zero" and dep.control_train_steps == dep.train_steps == 3
    assert dep.best_val_ce is not None and dep.control_val_ce is not None
    assert dep.control_val_ce != dep.best_val_ce  # zeroed inputs train a different module
    ctl_rows = [json.loads(x) for x in (path / "control" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in ctl_rows if r["kind"] == "train"] == [1, 2, 3]
    mtime = (path / "control" / "checkpoints" / "best" / WEIGHTS_FILE).stat().st_mtime
    (path / "predictions.jsonl").unlink()  # forces generation again; both trainings are reused
    again = read_manifest(run_dep(cfg)).dep
    assert (again.best_val_ce, again.control_val_ce) == (dep.best_val_ce, dep.control_val_ce)
    assert again.train_wall_s == dep.train_wall_s  # a reloaded training keeps its recorded time
    assert (path / "control" / "checkpoints" / "best" / WEIGHTS_FILE).stat().st_mtime == mtime

    ev = load_recipe("sample", overrides={**OVERRIDES, "dep.control": "eval-zero"})
    spec = read_manifest(run_dep(RunConfig(method="dep", data=data, recipe=ev, model=str(model), out=root / "out",
                                           device="cpu", run_id="ev", limit=2)))
    assert spec.dep.control == "eval-zero" and spec.dep.control_train_steps is None
    assert spec.dep.control_val_ce is not None and spec.dep.control_val_ce != spec.dep.best_val_ce
