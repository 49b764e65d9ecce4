"""A plain review file's texts are read a second time at the end of the build instead of being staged
(dpbench/data/texts.py); a gzip file's are staged. Both must give the same benchmark, byte for byte."""

from __future__ import annotations

import gzip
import shutil

import duckdb
import pytest

from dpbench.data import build, texts
from dpbench.data.build import build_benchmark
from dpbench.data.sample import write_sample
from dpbench.errors import DataError
from dpbench.recipes import load_recipe
from tests.data.raw_fixtures import write_paper_fixture


def gunzip(path, folder):
    """The .jsonl beside a .jsonl.gz: the same lines, uncompressed."""
    out = folder / path.name.removesuffix(".gz")
    with gzip.open(path, "rb") as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


def tables(out) -> dict[str, list]:
    con = duckdb.connect(str(out / "benchmark.duckdb"), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("reviews", "items", "examples", "history")}
    finally:
        con.close()


def count_rereads(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = texts.check_unchanged
    monkeypatch.setattr(texts, "check_unchanged", lambda path, stamp: seen.append(path.name) or real(path, stamp))
    return seen


@pytest.mark.parametrize("recipe", ["paper", "sample"])
def test_plain_and_gzip_files_give_the_same_benchmark(tmp_path, monkeypatch, recipe):
    if recipe == "paper":
        gz = write_paper_fixture(tmp_path / "gz")
    else:
        gz = sorted(write_sample(tmp_path / "gz"))
    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    # Every review file plain, and a mix: the first category plain, the others gzip.
    reviews = [p for p in gz if not p.name.startswith("meta_")]
    plain = [gunzip(p, plain_dir) if not p.name.startswith("meta_") else p for p in gz]
    mixed = [gunzip(p, tmp_path) if p == reviews[0] else p for p in gz]
    r = load_recipe(recipe, {"data.categories": ["Books"]} if recipe == "paper" else None)
    a = build_benchmark([str(p) for p in gz], r, tmp_path / "out_gz")
    seen = count_rereads(monkeypatch)
    b = build_benchmark([str(p) for p in plain], r, tmp_path / "out_plain")
    assert sorted(seen) == sorted(p.name.removesuffix(".gz") for p in reviews)
    seen.clear()
    c = build_benchmark([str(p) for p in mixed], r, tmp_path / "out_mixed")
    assert seen == [reviews[0].name.removesuffix(".gz")]
    assert a.counts["examples"] > 0 and a.counts["history"] > 0
    assert a.fingerprint == b.fingerprint == c.fingerprint
    assert a.counts == b.counts == c.counts and a.steps == b.steps
    # the rejects name the file's own name (Books.jsonl vs Books.jsonl.gz); their counts agree
    assert {k: v["count"] for k, v in a.rejects.items()} == {k: v["count"] for k, v in b.rejects.items()}
    if recipe == "paper":  # the fixture's exact duplicate line is found by the staged digests too
        assert b.rejects == {"reviews:duplicate": {"count": 1, "examples": ["Books.jsonl:283"]}}
    assert tables(tmp_path / "out_gz") == tables(tmp_path / "out_plain") == tables(tmp_path / "out_mixed")


def test_a_file_changed_between_the_two_reads_stops_the_build_and_leaves_nothing(tmp_path, monkeypatch):
    gz = sorted(write_sample(tmp_path / "gz"))
    plain = [gunzip(p, tmp_path) if not p.name.startswith("meta_") else p for p in gz]
    books = next(p for p in plain if p.name == "Books.jsonl")
    real = build.filters.run_filters

    def grow_then_filter(*a, **k):
        with open(books, "a") as f:  # another process still writing the file
            f.write('{"user_id": "late"}\n')
        return real(*a, **k)

    monkeypatch.setattr(build.filters, "run_filters", grow_then_filter)
    out = tmp_path / "out"
    with pytest.raises(DataError, match=r"Books\.jsonl changed while the build was reading it"):
        build_benchmark([str(p) for p in plain], load_recipe("sample"), out)
    assert not out.exists()


def test_only_plain_regular_review_files_are_read_twice(tmp_path):
    import os

    from dpbench.data.sources import RawFile, reread

    gz = write_sample(tmp_path / "gz")
    books_gz = next(p for p in gz if p.name == "Books.jsonl.gz")
    books = gunzip(books_gz, tmp_path)
    fifo = tmp_path / "fifo" / "Books.jsonl"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    assert reread(RawFile(books, "reviews", "Books", "2023"))
    assert not reread(RawFile(books_gz, "reviews", "Books", "2023"))  # gzip: staged
    assert not reread(RawFile(fifo, "reviews", "Books", "2023"))  # a pipe: staged (and never opened here)
    assert not reread(RawFile(tmp_path / "gz" / "meta_Books.jsonl.gz", "meta", "Books", "2023"))


@pytest.mark.parametrize("plain", [False, True])
def test_the_empty_build_message_counts_text_lengths_without_the_texts(tmp_path, plain):
    """When nothing survives, the message says what min_text_chars alone removes, counted on the staged
    lengths of the normalized texts whether or not the texts themselves were staged."""
    import json
    import re

    gz = sorted(write_sample(tmp_path / "gz"))
    files = [gunzip(p, tmp_path) if plain and not p.name.startswith("meta_") else p for p in gz]
    lengths = []
    for p in gz:
        if not p.name.startswith("meta_"):
            with gzip.open(p, "rt", encoding="utf-8") as f:
                lengths += [len(re.sub(r"\s+", " ", json.loads(line)["text"].strip())) for line in f if line.strip()]
    cut = sorted(lengths)[len(lengths) // 2]
    short = sum(n < cut for n in lengths)
    assert 0 < short < len(lengths)
    # every item fails a description of a million characters, so no review survives the item filters
    recipe = load_recipe("sample", {"data.min_text_chars": cut, "data.desc_min_chars": 1_000_000})
    with pytest.raises(DataError) as err:
        build_benchmark([str(p) for p in files], recipe, tmp_path / "none")
    assert (f"no review passed the review filters (each filter alone: item filters (items kept) removes "
            f"{len(lengths):,}, min_text_chars removes {short:,})") in str(err.value)
