"""`dpbench quickstart` end to end at a tiny size (2 test examples, DEP on 8 train examples): the
stages connect, the health table and DEP's evidence (trained vs its trained-zero control) are
printed, and the board holds every method. The full-size figures are a benchmark, not a test."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from dpbench.quickstart import QuickstartConfig, run_quickstart, server_recipe
from dpbench.recipes import load_recipe

ROOT = Path(__file__).resolve().parent.parent


def test_the_server_path_swaps_the_transformers_only_control_and_says_so():
    out = io.StringIO()
    r = server_recipe(QuickstartConfig(backend="openai"), load_recipe("quickstart"), Console(file=out, width=200))
    assert (r.generation.no_repeat_ngram_size, r.generation.repetition_penalty) == (0, 1.3)
    assert r.generation.prompt_style == "chat" and "no no_repeat_ngram_size" in out.getvalue()


@pytest.mark.slow
def test_quickstart_at_a_tiny_size_prints_health_and_dep_evidence(tmp_path):
    recipe = tmp_path / "tiny.toml"
    text = (ROOT / "recipes" / "quickstart.toml").read_text()
    text = text.replace("max_train_examples = 240", "max_train_examples = 8").replace(
        "max_val_examples = 32", "max_val_examples = 4").replace("bootstrap_resamples = 1000", "bootstrap_resamples = 100")
    recipe.write_text(text)
    out = io.StringIO()
    cfg = QuickstartConfig(data=tmp_path / "data", out=tmp_path / "out", limit=2, recipe=str(recipe),
                           methods=("nonpersonal", "rag", "dep"))
    result = run_quickstart(cfg, Console(file=out, width=200))
    log = out.getvalue()
    assert set(result.run_dirs) == {"nonpersonal", "rag", "dep"}
    assert "output health per method" in log and "DEP val cross-entropy: trained" in log
    dep = json.loads((result.run_dirs["dep"] / "manifest.json").read_text())["dep"]
    assert dep["control"] == "trained-zero" and dep["control_val_ce"] is not None and dep["best_val_ce"] is not None
    assert f"{dep['best_val_ce']:.4f}" in log and f"{dep['control_val_ce']:.4f}" in log
    board = json.loads((cfg.out / "leaderboard.json").read_text())
    rows = {r["method"]: r for g in board["groups"] for r in g["rows"]}
    assert set(rows) == {"nonpersonal", "rag", "dep"} and board["baseline"] == "nonpersonal"
    assert all(set(r["health"]) >= {"empty", "cut", "loop", "echo", "meta", "unhealthy"} for r in rows.values())
    rag = json.loads((result.run_dirs["rag"] / "manifest.json").read_text())
    assert rag["backend"] == "local" and rag["recipe"]["generation"]["prompt_style"] == "chat"
    assert rag["model_file"]["quantization"].startswith("none (bfloat16") or "float32" in rag["model_file"]["quantization"]
