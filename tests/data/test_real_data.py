"""Real Amazon data (../shared/data/real): 2014 Musical Instruments (no metadata) and 2018 Gift Cards
(metadata, one review repeated across variant asins) build with the sample recipe. Counts are checked
against independent computations: DuckDB's own JSON reader for the raw facts and the pure-Python
reference build (tests/data/reference_impl.py) for the benchmark."""

from __future__ import annotations

import duckdb
import pytest

from dpbench.data.build import build_benchmark
from dpbench.data.validate import validate_benchmark
from dpbench.recipes import load_recipe
from tests.conftest import real_data_dir
from tests.data.reference_impl import build_reference


def raw_query(sql: str, path) -> int:
    return duckdb.connect().execute(sql.replace("FILE", f"read_json_auto('{path}')")).fetchone()[0]


def check_against_reference(out, paths, release: str) -> None:
    ref = build_reference(paths, load_recipe("sample").data, release)
    con = duckdb.connect(str(out / "benchmark.duckdb"), read_only=True)
    ex = {r[0]: (r[1], r[2], r[3]) for r in con.execute(
        "SELECT example_id, split, user_id, target_review_id FROM examples").fetchall()}
    reviews = {r[0]: (r[1], r[2], r[3], r[4]) for r in con.execute(
        "SELECT review_id, user_id, item_id, ts, text FROM reviews").fetchall()}
    assert ex == ref["examples"]
    assert reviews == ref["reviews"]
    assert con.execute("SELECT count(*) FROM history").fetchone()[0] == sum(len(v) for v in ref["history"].values())
    con.close()


@pytest.fixture(scope="module")
def musical(tmp_path_factory):
    src = real_data_dir() / "reviews_Musical_Instruments_5.json.gz"
    out = tmp_path_factory.mktemp("mi")
    return src, out, build_benchmark([str(src)], load_recipe("sample"), out)


@pytest.fixture(scope="module")
def gift(tmp_path_factory):
    real = real_data_dir()
    paths = [real / "Gift_Cards_5.json.gz", real / "meta_Gift_Cards.json.gz"]
    out = tmp_path_factory.mktemp("gc")
    return paths, out, build_benchmark([str(p) for p in paths], load_recipe("sample"), out)


def test_musical_instruments_2014(musical):
    src, out, report = musical
    assert [f["schema"] for f in report.files] == ["2014"]
    # Raw facts, by DuckDB's JSON reader: 10,261 records, 7 with an empty text.
    assert report.steps[0]["rows"] == raw_query("SELECT count(*) FROM FILE", src) == 10261
    empty = raw_query("SELECT count(*) FROM FILE WHERE trim(reviewText) = ''", src)
    assert report.rejects == {"reviews:empty_text": {"count": empty, "examples": report.rejects["reviews:empty_text"]["examples"]}}
    assert empty == 7
    c = report.counts
    assert (c["users"], c["items"], c["reviews"], c["examples"], c["history"]) == (1423, 900, 10227, 4269, 17428)
    check_against_reference(out, [src], "2014")
    assert validate_benchmark(out).ok


def test_gift_cards_2018_with_variant_duplicates(gift):
    paths, out, report = gift
    assert [(f["kind"], f["schema"]) for f in report.files] == [("reviews", "2018"), ("meta", "2018")]
    unique = raw_query("SELECT count(DISTINCT (reviewerID, reviewText, unixReviewTime)) FROM FILE "
                       "WHERE reviewText IS NOT NULL", paths[0])
    no_text = raw_query("SELECT count(*) FROM FILE WHERE reviewText IS NULL", paths[0])
    assert (unique, no_text) == (2154, 6)
    assert report.rejects["reviews:missing_field:reviewText"]["count"] == no_text
    assert report.rejects["reviews:duplicate:variant_asin"]["count"] == 2972 - no_text - unique
    assert report.steps[1]["rows"] == unique
    c = report.counts
    assert (c["users"], c["items"], c["reviews"], c["examples"], c["history"]) == (246, 143, 1549, 738, 2097)
    con = duckdb.connect(str(out / "benchmark.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM items WHERE title = ''").fetchone()[0] == 0  # metadata joined
    con.close()
    check_against_reference(out, paths, "2018")
    assert validate_benchmark(out).ok
