"""Real Amazon data (../shared/data/real): 2014 Musical Instruments (no metadata) and 2018 Gift Cards
(metadata, one review repeated across variant asins) build with the sample recipe. Counts are checked
against independent computations: DuckDB's own JSON reader for the raw facts, a regex over the raw
metadata for the markup repairs, and the pure-Python reference build (tests/data/reference_impl.py)
for the benchmark.

Both sets have day-resolution timestamps: many users wrote several reviews on one day. The sample
recipe's min_history = 1 removes the users whose first target has no strictly earlier review
(with min_history = 0 the counts are those of the earlier builds: Musical Instruments 1,423 users /
4,269 examples, 616 of them with an empty history; Gift Cards 246 / 738, 172 empty)."""

from __future__ import annotations

import gzip
import json
import re

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
    assert (c["users"], c["items"], c["reviews"], c["examples"], c["history"]) == (1148, 900, 8661, 3444, 16577)
    assert report.warnings == {"examples_with_empty_history": 0, "examples_without_peer_covered_history": 41,
                               "targets_tied_with_another_review": 1816}
    check_against_reference(out, [src], "2014")
    result = validate_benchmark(out)
    assert result.ok and result.warnings == report.warnings


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
    assert (c["users"], c["items"], c["reviews"], c["examples"], c["history"]) == (173, 137, 1133, 519, 1901)
    assert report.warnings == {"examples_with_empty_history": 0, "examples_without_peer_covered_history": 12,
                               "targets_tied_with_another_review": 303}
    con = duckdb.connect(str(out / "benchmark.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM items WHERE title = ''").fetchone()[0] == 0  # metadata joined
    con.close()
    check_against_reference(out, paths, "2018")
    result = validate_benchmark(out)
    assert result.ok and result.warnings == report.warnings


def test_gift_cards_metadata_markup_counted_and_cleaned(gift):
    """Markup counted per file by an independent regex over the raw metadata: 87 rows hold tags (all in
    descriptions), 193 hold character references (178 titles, 18 descriptions, 3 rows both)."""
    from dpbench.data.markup import MARKUP_RE

    paths, out, report = gift
    tag, ref = re.compile(r"<[A-Za-z/!?]"), re.compile(r"&(#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
    rows = [json.loads(line) for line in gzip.open(paths[1])]
    fields = [[r["title"], *r["description"]] for r in rows]
    with_tags = sum(any(tag.search(x) for x in f) for f in fields)
    with_refs = sum(any(ref.search(x) for x in f) for f in fields)
    assert (with_tags, with_refs) == (87, 193)
    assert report.repairs == {
        "meta:markup_stripped": {"count": 87, "files": {"meta_Gift_Cards.json.gz": 87},
                                 "examples": report.repairs["meta:markup_stripped"]["examples"]},
        "meta:entities_decoded": {"count": 193, "files": {"meta_Gift_Cards.json.gz": 193},
                                  "examples": report.repairs["meta:entities_decoded"]["examples"]},
    }
    con = duckdb.connect(str(out / "benchmark.duckdb"), read_only=True)
    left = con.execute("SELECT count(*) FROM items WHERE regexp_matches(title, ?) OR regexp_matches(description, ?)",
                       [MARKUP_RE, MARKUP_RE]).fetchone()[0]
    titles = dict(con.execute("SELECT item_id, title FROM items WHERE item_id IN ('B00MV9GCYQ', 'B00BXLV55Y')").fetchall())
    con.close()
    assert left == 0
    assert titles == {"B00MV9GCYQ": "Papa John's Pizza Gift Cards - E-mail Delivery",
                      "B00BXLV55Y": "Noodles & Company Gift Card"}
    # A title without markup is left byte for byte (its leading space too).
    assert con_title(out, "B01BLV4R8M") == " Outback Steakhouse Gift Cards Configuration Asin - E-mail Delivery"


def con_title(out, item: str) -> str:
    con = duckdb.connect(str(out / "benchmark.duckdb"), read_only=True)
    try:
        return con.execute("SELECT title FROM items WHERE item_id = ?", [item]).fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("name", ["mi", "gc"])
def test_min_history_zero_gives_the_earlier_counts_with_empty_histories(name, tmp_path):
    real = real_data_dir()
    paths = [real / "reviews_Musical_Instruments_5.json.gz"] if name == "mi" else [
        real / "Gift_Cards_5.json.gz", real / "meta_Gift_Cards.json.gz"]
    report = build_benchmark([str(p) for p in paths], load_recipe("sample", {"data.min_history": 0}), tmp_path / "o")
    c = report.counts
    expected = {"mi": ((1423, 4269), 616), "gc": ((246, 738), 172)}[name]
    assert ((c["users"], c["examples"]), report.warnings["examples_with_empty_history"]) == expected
