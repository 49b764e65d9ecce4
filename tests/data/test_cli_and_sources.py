"""`dpbench build-data` / `dpbench validate` from the command line, and raw-file recognition."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from dpbench.cli import app
from dpbench.data.sources import (
    describe_file,
    detect_schema,
    lines_to_table,
    split_name,
)
from dpbench.errors import DataError
from tests.data.raw_fixtures import BASE, DAY, meta, review, write_jsonl

runner = CliRunner()


def small_raw(folder):
    rows = [review(f"u{k}", f"I{j}", BASE + j * DAY + k) for k in range(5) for j in range(6)]
    write_jsonl(folder / "Books.jsonl.gz", rows)
    write_jsonl(folder / "meta_Books.jsonl.gz", [meta(f"I{j}") for j in range(6)])
    return folder


def test_build_data_folder_source_then_validate(tmp_path):
    raw = small_raw(tmp_path / "raw")
    out = tmp_path / "bench"
    res = runner.invoke(app, ["build-data", "--source", str(raw), "--out", str(out), "--export", "parquet"])
    assert res.exit_code == 0, res.output
    assert "pipeline (recipe sample)" in res.output and "5 users" in res.output
    report = json.loads((out / "build_report.json").read_text())
    assert report["counts"]["examples_by_split"] == {"test": 5, "train": 5, "val": 5}
    assert (out / "parquet" / "peers.parquet").exists()
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0, res.output
    assert "PASS no leakage" in res.output and "valid" in res.output


def test_validate_fails_with_exit_1_on_a_broken_database(tmp_path):
    import duckdb

    raw = small_raw(tmp_path / "raw")
    out = tmp_path / "bench"
    assert runner.invoke(app, ["build-data", "--source", str(raw), "--out", str(out)]).exit_code == 0
    con = duckdb.connect(str(out / "benchmark.duckdb"))
    con.execute("DELETE FROM examples WHERE split = 'val'")
    con.close()
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 1
    assert "FAIL every user: one val, one test" in res.output


def test_cli_errors_are_messages_not_tracebacks(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "from dpbench.cli import main; main()", "build-data", "--source",
         str(tmp_path / "missing"), "--out", str(tmp_path / "o")],
        check=False, capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "COLUMNS": "300"},
    )
    assert proc.returncode == 2
    err = " ".join(proc.stderr.split())
    assert "missing: no such file or directory" in err and "Traceback" not in err


def test_cli_rejects_unknown_flag_values(tmp_path):
    res = runner.invoke(app, ["build-data", "--export", "csv", "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "choose from parquet, hf, dpl" in str(res.exception)
    res = runner.invoke(app, ["build-data", "--schema", "2019", "--out", str(tmp_path / "o")])
    assert "choose from 2023, 2018, 2014" in str(res.exception)


def test_categories_flag_filters_and_names_missing(tmp_path):
    raw = small_raw(tmp_path / "raw")
    res = runner.invoke(app, ["build-data", "--source", str(raw), "--categories", "Books,Toys", "--out",
                              str(tmp_path / "o")])
    assert isinstance(res.exception, DataError) and "no review files for category Toys" in str(res.exception)


def test_hub_offline_fails_fast_naming_local_files(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    res = runner.invoke(app, ["build-data", "--source", "hub", "--categories", "Books", "--out", str(tmp_path / "h")])
    assert isinstance(res.exception, DataError)
    assert "--source PATH" in str(res.exception)
    assert not (tmp_path / "h").exists()


@pytest.mark.parametrize("name,expected", [
    ("Books.jsonl.gz", ("reviews", "Books")),
    ("meta_Books.jsonl", ("meta", "Books")),
    ("reviews_Musical_Instruments_5.json.gz", ("reviews", "Musical_Instruments")),
    ("Gift_Cards_5.json.gz", ("reviews", "Gift_Cards")),
    ("meta_Gift_Cards.json.gz", ("meta", "Gift_Cards")),
    ("CDs_and_Vinyl.parquet", ("reviews", "CDs_and_Vinyl")),
    ("notes.txt", None),
])
def test_file_names(name, expected, tmp_path):
    assert split_name(tmp_path / name) == expected


def test_schema_detection():
    assert detect_schema([{"user_id": "u", "parent_asin": "p", "text": "t", "rating": 5}]) == ("reviews", "2023")
    assert detect_schema([{"reviewerID": "u", "asin": "a", "helpful": [0, 0], "overall": 5}]) == ("reviews", "2014")
    assert detect_schema([{"reviewerID": "u", "asin": "a", "verified": True, "overall": 5}]) == ("reviews", "2018")
    assert detect_schema([{"parent_asin": "p", "main_category": "Books", "title": "t"}]) == ("meta", "2023")
    assert detect_schema([{"asin": "a", "title": "t", "category": ["x"]}]) == ("meta", "2018")
    assert detect_schema([{"foo": 1}]) is None


def test_schema_override_and_parquet_source(tmp_path):
    import duckdb

    from dpbench.data.build import build_benchmark
    from dpbench.recipes import load_recipe

    raw = small_raw(tmp_path / "raw")
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_json_auto('{raw / 'Books.jsonl.gz'}')) TO '{tmp_path / 'Books.parquet'}'")
    assert describe_file(tmp_path / "Books.parquet").schema == "2023"
    assert describe_file(raw / "Books.jsonl.gz", "2018").schema == "2018"
    report = build_benchmark([str(tmp_path / "Books.parquet"), str(raw / "meta_Books.jsonl.gz")],
                             load_recipe("sample"), tmp_path / "out")
    assert report.counts["examples"] == 15
    # Forcing the wrong release: every line lacks the 2018 fields → a clear error.
    with pytest.raises(DataError, match="missing_field:reviewerID"):
        build_benchmark([str(raw / "Books.jsonl.gz")], load_recipe("sample"), tmp_path / "o2", schema="2018")


def test_line_splitting_keeps_numbers_and_flags_invalid_utf8():
    table, n = lines_to_table(b'{"a":1}\n\n{"b":2}\r\n\xff\xfe\n{"c":3}\n', 10)
    assert n == 5
    rows = table.to_pylist()
    assert [r["line"] for r in rows] == [10, 12, 13, 14]
    assert rows[2]["text"] is None and json.loads(rows[1]["text"]) == {"b": 2}


def test_sql_whitespace_normalization_matches_python():
    import re

    import duckdb

    from dpbench.data.whitespace import blank_sql, normalize_sql

    cases = ["plain text", "  lead and trail  ", "a\tb\nc\r\nd", "double  space", "nbsp\u00a0here",
             "ideographic\u3000space", "mixed \u2003\u2009 run", "\x1cfile sep", "\u0085next line", "",
             "   ", "tab\t", "unicode é ü  ok", "a \n\n b",
             " é ", "ü  ", "\u3000ü\u3000", "\u00a0日本\t", " \u00e9\u00a0x\u2028", "x", " ", "a  \n"]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?::VARCHAR[]) AS s, generate_subscripts(?::VARCHAR[], 1) AS i", [cases, cases])
    got = [r[0] for r in con.execute(f"SELECT {normalize_sql('s')} FROM t ORDER BY i").fetchall()]
    assert got == [re.sub(r"\s+", " ", c.strip()) for c in cases]
    # The empty-text check (a code-point guard before the full match) against Python's strip().
    blanks = cases + ["\u3000", " \u00a0\t", "\x08", "\x08 ", " x", "\u00e9"]
    con.execute("CREATE OR REPLACE TABLE b AS SELECT unnest(?::VARCHAR[]) AS s, generate_subscripts(?::VARCHAR[], 1) AS i",
                [blanks, blanks])
    got = [r[0] for r in con.execute(f"SELECT {blank_sql('s')} FROM b ORDER BY i").fetchall()]
    assert got == [c.strip() == "" for c in blanks]
