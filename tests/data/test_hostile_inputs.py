"""Hostile recipe values and awkward paths never become SQL; files that are not benchmarks and recipe
names that look like folders give clear errors."""

from __future__ import annotations

import os

import duckdb
import pytest
from typer.testing import CliRunner

from dpbench.cli import app
from dpbench.data.examples import connect, load_examples, select_example_ids
from dpbench.data.validate import validate_benchmark
from dpbench.errors import DataError, RecipeError
from dpbench.recipes import find_recipe, load_recipe, parse_set_options
from tests.data.raw_fixtures import BASE, DAY, meta, review, write_jsonl

INJECTION = "2GB'; COPY (SELECT 'x') TO '{out}'; SET memory_limit = '2GB"


def small_raw(folder, category: str = "Books"):
    rows = [review(f"u{k}", f"I{j}", BASE + j * DAY + k) for k in range(5) for j in range(6)]
    return [write_jsonl(folder / f"{category}.jsonl.gz", rows),
            write_jsonl(folder / f"meta_{category}.jsonl.gz", [meta(f"I{j}") for j in range(6)])]


def test_memory_limit_injection_is_refused_by_type(tmp_path):
    planted = tmp_path / "PWNED.csv"
    recipe_file = tmp_path / "evil.toml"
    recipe_file.write_text(f'[data]\nduckdb_memory_limit = "{INJECTION.format(out=planted)}"\n')
    with pytest.raises(RecipeError, match="data.duckdb_memory_limit: Value error, must be a memory size"):
        load_recipe(str(recipe_file))
    with pytest.raises(RecipeError, match="must be a memory size"):
        load_recipe("sample", parse_set_options([f"data.duckdb_memory_limit={INJECTION.format(out=planted)}"]))
    assert not planted.exists()
    for ok in ("2GB", "512MiB", "1.5GB", "800 MB"):
        assert load_recipe("sample", {"data.duckdb_memory_limit": ok}).data.duckdb_memory_limit == ok


def test_a_value_that_slips_past_the_model_still_cannot_run_sql(tmp_path, monkeypatch):
    """Defence in depth: even a limit string that skipped validation is one quoted literal for DuckDB."""
    from dpbench.data import build

    planted = tmp_path / "PWNED.csv"
    con = duckdb.connect()
    with pytest.raises(duckdb.Error):
        build.set_memory(con, INJECTION.format(out=planted))
    assert not planted.exists()


def test_quoted_paths_and_categories_build_validate_export_and_load(tmp_path):
    folder = tmp_path / "it's data"
    raw = small_raw(folder / "raw", category="O'Reilly")
    out = folder / "out's"
    runner = CliRunner()
    res = runner.invoke(app, ["build-data", "--source", str(folder / "raw"), "--out", str(out), "--export", "parquet"])
    assert res.exit_code == 0, res.output
    assert validate_benchmark(out).ok
    con = duckdb.connect()
    assert con.execute("SELECT count(*) FROM read_parquet(?)", [str(out / "parquet" / "examples.parquet")]).fetchone()[0] == 15
    bench = connect(out)
    exs = load_examples(bench, select_example_ids(bench, "test"), with_peers=True, max_peers_per_item=2)
    bench.close()
    assert len(exs) == 5 and {e.item.category for e in exs} == {"O'Reilly"}
    assert all(len(v) <= 2 for e in exs for v in e.peers.values())
    assert raw[0].exists()


def test_a_file_that_is_not_a_duckdb_database_is_named(tmp_path):
    (tmp_path / "benchmark.duckdb").write_bytes(b"this is not a database\n" * 100)
    with pytest.raises(DataError, match=r"benchmark\.duckdb is not a readable DuckDB database"):
        connect(tmp_path)
    with pytest.raises(DataError, match=str(tmp_path / "benchmark.duckdb")):
        validate_benchmark(tmp_path)


def test_a_duckdb_file_without_benchmark_tables_is_named(tmp_path):
    con = duckdb.connect(str(tmp_path / "benchmark.duckdb"))
    con.execute("CREATE TABLE something(x INTEGER)")
    con.close()
    with pytest.raises(DataError, match=r"benchmark\.duckdb is a DuckDB database but holds no dpbench benchmark tables"):
        connect(tmp_path)
    with pytest.raises(DataError, match="holds no dpbench benchmark tables"):
        validate_benchmark(tmp_path / "benchmark.duckdb")


def test_recipe_names_never_resolve_to_folders_of_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample").mkdir()
    (tmp_path / "paper").write_text("not toml [")
    assert find_recipe("sample").name == "sample.toml" and find_recipe("sample").parent != tmp_path
    assert load_recipe("paper").data.semantics == "paper"
    own = tmp_path / "mine.toml"
    own.write_text('[data]\nmin_history = 2\n')
    assert load_recipe("mine.toml").data.min_history == 2
    assert load_recipe(f".{os.sep}mine.toml").data.min_history == 2
    with pytest.raises(RecipeError, match="unknown recipe 'mine'"):
        load_recipe("mine")
    with pytest.raises(RecipeError, match=r"recipe file not found: sample/x.toml"):
        load_recipe("sample/x.toml")
    with pytest.raises(RecipeError, match="it is a directory"):
        load_recipe("./sample")
