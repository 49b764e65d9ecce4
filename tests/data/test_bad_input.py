"""Bad input: skipped and counted by reason with file:line (default), or a stop at the first (--strict);
zero usable rows and unknown schemas fail with a clear message and leave no database behind."""

from __future__ import annotations

import json

import pytest

from dpbench.data.build import build_benchmark
from dpbench.errors import DataError
from dpbench.recipes import load_recipe
from tests.data.raw_fixtures import BASE, DAY, meta, review, write_jsonl


def good_rows() -> list[dict]:
    """5 users × 6 items, every item reviewed by every user: all survive the sample recipe."""
    return [review(f"u{k}", f"I{j}", BASE + j * DAY + k) for k in range(5) for j in range(6)]


def bad_lines() -> list:
    """Line numbers after the 30 good lines (31..): one example of each problem."""
    empty_text = review("u0", "I1", BASE + 99, "  \t ")
    no_user = review("u1", "I1", BASE + 98)
    del no_user["user_id"]
    bad_rating = review("u2", "I2", BASE + 97, rating="five")
    text_number = dict(review("u3", "I3", BASE + 96), text=12345)
    return [
        '{"rating": 5.0, "title": "broken',                      # 31 malformed JSON
        no_user,                                                  # 32 missing user_id
        bad_rating,                                               # 33 mistyped rating
        empty_text,                                               # 34 empty text
        b'{"user_id": "u9", "text": "caf\xe9 au lait"}',          # 35 invalid UTF-8
        "",                                                       # 36 blank line: ignored, not a reject
        text_number,                                              # 37 mistyped text
        json.dumps(review("u0", "I0", BASE + 0)),                 # 38 exact duplicate of line 1
        review("u4", "NO_META", BASE + 95),                       # 39 item without metadata
        "[1, 2, 3]",                                              # 40 JSON but not an object
    ]


@pytest.fixture
def raw(tmp_path):
    reviews = write_jsonl(tmp_path / "raw" / "Books.jsonl", good_rows() + bad_lines(), gz=False)
    metas = write_jsonl(tmp_path / "raw" / "meta_Books.jsonl.gz", [meta(f"I{j}") for j in range(6)])
    return tmp_path, [str(reviews), str(metas)]


def test_rejects_counted_by_reason_with_file_and_line(raw):
    tmp, sources = raw
    recipe = load_recipe("sample", {"data.require_metadata": True})
    report = build_benchmark(sources, recipe, tmp / "out")
    rejects = {k: v["examples"] for k, v in report.rejects.items()}
    assert rejects == {
        "reviews:malformed_json": ["Books.jsonl:31", "Books.jsonl:40"],
        "reviews:missing_field:user_id": ["Books.jsonl:32"],
        "reviews:mistyped_field:rating": ["Books.jsonl:33"],
        "reviews:empty_text": ["Books.jsonl:34"],
        "reviews:invalid_utf8": ["Books.jsonl:35"],
        "reviews:mistyped_field:text": ["Books.jsonl:37"],
        "reviews:duplicate": ["Books.jsonl:38"],
        "reviews:item_without_metadata": ["Books.jsonl:39"],
    }
    assert report.rejects["reviews:malformed_json"]["count"] == 2
    assert report.counts["users"] == 5 and report.counts["examples"] == 15  # nothing good was lost
    assert report.steps[0]["rows"] == 39  # 40 lines, one blank


def test_items_without_metadata_kept_when_recipe_allows(raw):
    tmp, sources = raw
    report = build_benchmark(sources, load_recipe("sample"), tmp / "out")
    assert "reviews:item_without_metadata" not in report.rejects
    assert report.steps[1]["rows"] == 31  # 30 good + the NO_META review (later filtered: 1 reviewer)


def test_strict_stops_at_first_bad_line(raw):
    tmp, sources = raw
    with pytest.raises(DataError, match=r"Books\.jsonl:31: the line is not a JSON object"):
        build_benchmark(sources, load_recipe("sample"), tmp / "out", strict=True)
    assert not (tmp / "out" / "benchmark.duckdb").exists()
    assert not list((tmp / "out").glob(".benchmark*"))


def test_strict_reports_cross_file_duplicates(tmp_path):
    rows = good_rows()
    src = write_jsonl(tmp_path / "Books.jsonl.gz", rows + [rows[3]])
    with pytest.raises(DataError, match=r"Books\.jsonl\.gz:31: duplicate"):
        build_benchmark([str(src)], load_recipe("sample"), tmp_path / "out", strict=True)


def test_zero_usable_rows_fails_clearly_without_database(tmp_path):
    src = write_jsonl(tmp_path / "Books.jsonl", [review("u", "i", BASE, "   ")] * 3 + ["{oops"], gz=False)
    with pytest.raises(DataError, match="no usable reviews in Books.jsonl: every line was rejected"):
        build_benchmark([str(src)], load_recipe("sample"), tmp_path / "out")
    assert not (tmp_path / "out" / "benchmark.duckdb").exists()
    assert not list((tmp_path / "out").glob(".benchmark*"))


def test_unknown_schema_names_the_file_and_keys(tmp_path):
    src = write_jsonl(tmp_path / "Books.jsonl", [{"foo": 1, "bar": "x"}] * 3, gz=False)
    with pytest.raises(DataError, match=r"Books\.jsonl: unknown schema; its records have keys \['bar', 'foo'\]"):
        build_benchmark([str(src)], load_recipe("sample"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "Books.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="no reviews found in Books.jsonl: the files are empty"):
        build_benchmark([str(empty)], load_recipe("sample"), tmp_path / "out")
    with pytest.raises(DataError, match="no such file or directory"):
        build_benchmark([str(tmp_path / "nope.jsonl.gz")], load_recipe("sample"), tmp_path / "out")


def test_truncated_gzip_is_a_clear_error(tmp_path):
    src = write_jsonl(tmp_path / "Books.jsonl.gz", good_rows())
    src.write_bytes(src.read_bytes()[:-20])
    with pytest.raises(DataError, match="truncated"):
        build_benchmark([str(src)], load_recipe("sample"), tmp_path / "out")


def test_thresholds_nobody_passes_is_a_clear_error(tmp_path):
    src = write_jsonl(tmp_path / "Books.jsonl", good_rows(), gz=False)
    with pytest.raises(DataError, match="no user survived recipe 'sample'.*data.user_min_reviews"):
        build_benchmark([str(src)], load_recipe("sample", {"data.user_min_reviews": 50}), tmp_path / "out")


def test_leftovers_of_a_killed_build_are_removed(tmp_path):
    src = write_jsonl(tmp_path / "Books.jsonl", good_rows(), gz=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".benchmark.duckdb.building-999999999").write_bytes(b"half a database")
    (out / ".duckdb-spill-999999999").mkdir()
    build_benchmark([str(src)], load_recipe("sample"), out)
    assert sorted(p.name for p in out.iterdir()) == ["benchmark.duckdb", "build_report.json"]
