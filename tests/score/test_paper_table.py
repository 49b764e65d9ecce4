"""The papers' layout: categories as column groups, best bold, per-category paired tests, published
rows only for the benchmark's categories and never tested; the LaTeX is a well-formed table."""

from __future__ import annotations

import re

import duckdb
import pytest

from dpbench.leaderboard.paper import to_latex
from dpbench.leaderboard.published import load_references, reference_names
from dpbench.metrics.config import ScoreConfig
from dpbench.score import score_runs
from tests.score.helpers import make_benchmark, make_run

REFS = {f"b{i}": f"A long and careful review of book {i}, the plot is slow but rewarding." for i in range(6)}
REFS |= {f"m{i}": f"The movie {i} has great acting and a weak ending, worth one watch." for i in range(6)}


@pytest.fixture
def two_categories(tmp_path):
    bench = make_benchmark(tmp_path / "data" / "cats", REFS)
    con = duckdb.connect(str(bench / "benchmark.duckdb"))
    rows = con.execute("SELECT example_id, item_id FROM examples").fetchall()
    con.executemany("INSERT INTO items VALUES (?, ?, ?, ?)",
                    [(item, "t", "d", "Books" if eid.startswith("b") else "Movies_and_TV") for eid, item in rows])
    con.close()
    out = tmp_path / "outputs"
    make_run(out / "np", bench, dict.fromkeys(REFS, "Fine."), method="nonpersonal")
    make_run(out / "rag", bench, {k: v.replace("careful", "short") for k, v in REFS.items()}, method="rag")
    make_run(out / "dpl", bench, {k: (v if k.startswith("m") else "Okay book.") for k, v in REFS.items()},
             method="dpl")
    return out


def test_published_numbers_are_the_papers_and_filtered_by_category():
    assert reference_names() == ["dep-2025", "dpl-2025"]
    rows = load_references(["dep-2025"], {"Books"})
    assert len(rows) == 5 and {r.category for r in rows} == {"Books"}
    dep = next(r for r in rows if r.method == "dep")
    assert dep.values == {"rouge1": 0.3745, "meteor": 0.3156, "bleu": 13.53, "bertscore_f1": 0.5557}
    assert "not re-run here" in dep.note and "after the target" in dep.note
    assert load_references(["dpl-2025"])[0].values == {"rouge1": 0.3318, "meteor": 0.2411, "rougeL": 0.1720,
                                                       "bleu": 5.94}


def test_paper_layout_with_reference_rows(two_categories):
    cfg = ScoreConfig(metrics=("rouge", "bleu"), bootstrap_resamples=4000, references=("dep-2025",),
                      formats=("md", "latex", "json"))
    board = score_runs([two_categories], cfg)
    t = board.groups[0].paper
    assert t.categories == ["Books", "Movies_and_TV"] and t.metrics == ["rouge1", "bleu"]
    ours = [r for r in t.rows if not r.published]
    published = [r for r in t.rows if r.published]
    assert [r.method for r in ours] == ["nonpersonal", "rag", "dpl"] and ours[0].is_baseline
    assert [r.method for r in published] == ["nonpersonal", "rag", "pag", "dpl", "dep"]
    assert all(c.marker == "" and not c.best for r in published for c in r.cells.values())  # never tested, never bold
    assert {k[0] for r in published for k in r.cells} == {"Books", "Movies_and_TV"}  # no CDs_and_Vinyl
    rag, dpl = ours[1], ours[2]
    assert rag.cells[("Books", "rouge1")].best and rag.cells[("Books", "rouge1")].n == 6
    assert dpl.cells[("Movies_and_TV", "rouge1")].value == pytest.approx(1.0)  # copied the references
    assert dpl.cells[("Movies_and_TV", "rouge1")].best and not dpl.cells[("Books", "rouge1")].best
    assert rag.cells[("Books", "rouge1")].marker == "*"  # 6 pairs: the exact p is 2/64
    n_books = rag.cells[("Books", "rouge1")].n
    n_movies = dpl.cells[("Movies_and_TV", "rouge1")].n
    assert t.notes[0].startswith(f"examples per category (our rows): Books {n_books}, Movies_and_TV {n_movies};")
    md = (two_categories / "leaderboard.md").read_text()
    assert "paper layout" in md and "| dep (published dep-2025) |" in md and "**1.0000" in md
    tex = to_latex(t)
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") == 1
    assert tex.count("{") == tex.count("}")
    body = tex.split(r"\midrule")[1:]
    lines = [ln for part in body for ln in part.splitlines() if ln.endswith(r"\\")]
    assert len(lines) == len(t.rows) == 8  # one row per method (3 ours + 5 published)
    ncols = 1 + 2 * 2
    assert all(ln.count("&") == ncols - 1 for ln in lines)
    assert re.search(r"\\textbf\{1\.0000\}", tex)
