"""`dpbench experiment`: the shipped cpu-small grid runs end to end on the sample (small limit), writes
one leaderboard per benchmark and a well-formed paper table; re-running skips finished cells; a
failing cell is recorded and the others still run; bad experiment files are clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from dpbench.errors import RecipeError
from dpbench.experiment.grid import run_experiment
from dpbench.experiment.spec import load_experiment

ROOT = Path(__file__).resolve().parents[2]
CPU_SMALL = ROOT / "recipes" / "experiments" / "cpu-small.toml"
FAST_DEP = ["dep.max_train_examples=8", "dep.max_val_examples=4", "dep.control=none", "score.bootstrap_resamples=200"]


def test_shipped_experiment_files_validate():
    for f in sorted((ROOT / "recipes" / "experiments").glob("*.toml")):
        spec = load_experiment(f)
        assert spec.methods and spec.benchmarks and spec.models, f
    paper = load_experiment(ROOT / "recipes" / "experiments" / "paper-table.toml")
    assert paper.recipe == "paper" and paper.models[0].model == "Qwen/Qwen2.5-7B-Instruct"
    assert paper.benchmarks[0].build.categories == ["Books", "Movies_and_TV", "CDs_and_Vinyl"]


@pytest.mark.parametrize("body, message", [
    ('name="x"\nmethods=["rag"]\n', "benchmarks"),
    ('name="x"\nmethods=["ragg"]\n[[benchmarks]]\nname="b"\ndata="d"\n[[models]]\nname="m"\n', "Did you mean 'rag'"),
    ('name="x"\nmethods=["rag"]\nbogus=1\n[[benchmarks]]\nname="b"\ndata="d"\n[[models]]\nname="m"\n', "bogus"),
    ('name="x"\nmethods=["rag"]\nreferences=["x-1999"]\n[[benchmarks]]\nname="b"\ndata="d"\n[[models]]\nname="m"\n',
     "unknown reference"),
])
def test_bad_experiment_files_are_clear_errors(tmp_path, body, message):
    f = tmp_path / "e.toml"
    f.write_text(body)
    with pytest.raises(RecipeError, match=message):
        load_experiment(f)


@pytest.mark.slow
def test_cpu_small_runs_every_cell_scores_and_resumes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data/sample and outputs/ land here
    out = tmp_path / "exp"
    spec = load_experiment(CPU_SMALL, limit=2, out=out, sets=FAST_DEP)
    result = run_experiment(spec, Console(width=200, file=open(tmp_path / "log.txt", "w")))
    status = json.loads((out / "experiment.json").read_text())
    assert [c["status"] for c in status["cells"]] == ["complete"] * 5, status["cells"]
    board = result.boards["sample"]
    assert {r.method for r in board.groups[0].rows} == {"nonpersonal", "rag", "pag", "dpl", "dep"}
    for ext in ("md", "csv", "json", "html", "tex"):
        assert (out / "sample" / f"leaderboard.{ext}").exists()
    tex = (out / "sample" / "paper_table.tex").read_text()
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == 1 and tex.count("{") == tex.count("}")
    cats = board.groups[0].paper.categories
    assert cats and set(cats) <= {"Books", "Movies_and_TV", "CDs_and_Vinyl"}
    header = next(ln for ln in tex.splitlines() if ln.startswith("Method"))
    assert header.count(r"\multicolumn{4}") == len(cats)  # one column group per category, 4 metrics each
    rows = [ln for ln in tex.split(r"\midrule", 1)[1].splitlines() if ln.endswith(r"\\")]
    ours = [ln.split(" & ")[0] for ln in rows[:5]]
    assert len(set(ours)) == 5 and not any("published" in x for x in ours)  # one row per method
    assert all(ln.count("&") == 4 * len(cats) for ln in rows)  # every row has every column
    md = (out / "sample" / "paper_table.md").read_text()
    assert "(published dep-2025)" in md and "**" in md
    # the same command again: every cell is finished, nothing runs
    mtimes = {c["run_dir"]: (Path(c["run_dir"]) / "predictions.jsonl").stat().st_mtime for c in status["cells"]}
    again = run_experiment(spec, Console(width=200, file=open(tmp_path / "log2.txt", "w")))
    assert all(c.status == "complete" and c.wall_s == 0 for c in again.cells)
    assert mtimes == {d: (Path(d) / "predictions.jsonl").stat().st_mtime for d in mtimes}


@pytest.mark.slow
def test_a_failing_cell_is_recorded_and_the_others_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "e.toml"
    f.write_text(f'''
name = "half"
recipe = "quickstart"
sets = ["generation.no_repeat_ngram_size=0"]  # llama.cpp has no such control
limit = 2
methods = ["nonpersonal"]
out = "{tmp_path / 'exp'}"
[[benchmarks]]
name = "sample"
data = "data/sample"
build = {{ sources = ["sample"], recipe = "sample" }}
[[models]]
name = "dead"
backend = "openai"
base_urls = ["http://127.0.0.1:9/v1"]
[[models]]
name = "local"
backend = "local"
[[models]]
name = "served"
backend = "openai"
serve = true
''')
    result = run_experiment(load_experiment(f), Console(width=200, file=open(tmp_path / "log.txt", "w")))
    by_model = {c.model: c for c in result.cells}
    assert by_model["dead"].status == "failed" and "127.0.0.1:9" in by_model["dead"].error
    assert by_model["local"].status == "complete" and by_model["served"].status == "complete"
    assert {r.run_id for r in result.boards["sample"].groups[0].rows} == {"half-sample-nonpersonal-local",
                                                                          "half-sample-nonpersonal-served"}
    served = json.loads((Path(by_model["served"].run_dir) / "manifest.json").read_text())
    assert served["backend"] == "openai" and served["model_file"]["format"] == "gguf"
