"""The default build (embedded sample, sample recipe): every guarantee of the benchmark (docs/benchmark.md), each a failing-capable test."""

from __future__ import annotations

import gzip
import random
import shutil

import duckdb
import pytest

from dpbench.data.build import build_benchmark
from dpbench.data.validate import validate_benchmark
from dpbench.recipes import load_recipe
from tests.data.reference_impl import build_reference


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "data"
    report = build_benchmark(["sample"], load_recipe("sample"), out)
    return out, report


def q(out, sql: str):
    con = duckdb.connect(str(out / "benchmark.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_build_writes_database_report_and_raw_files(sample):
    out, report = sample
    assert (out / "benchmark.duckdb").exists() and (out / "build_report.json").exists()
    assert sorted(p.name for p in (out / "raw").iterdir())[:2] == ["Books.jsonl.gz", "CDs_and_Vinyl.jsonl.gz"]
    assert not list(out.glob(".benchmark.duckdb.building-*"))
    c = report.counts
    assert c["examples_by_split"]["test"] == c["examples_by_split"]["val"] == c["users"] > 100
    assert c["examples"] == c["users"] * 3
    assert report.fingerprint == q(out, "SELECT value FROM build_info WHERE key = 'fingerprint'")[0][0]


def test_validate_passes_every_check(sample):
    out, _ = sample
    result = validate_benchmark(out)
    assert result.ok, [c for c in result.checks if not c.ok]
    assert len(result.checks) >= 12


def test_no_leakage_and_peers_exist(sample):
    out, _ = sample
    assert q(out, """SELECT count(*) FROM peers p JOIN examples e USING (example_id)
                     WHERE p.peer_ts >= e.target_ts""")[0][0] == 0
    assert q(out, """SELECT count(*) FROM history h JOIN examples e USING (example_id)
                     WHERE h.ts >= e.target_ts""")[0][0] == 0
    assert q(out, "SELECT count(*) FROM peers")[0][0] > 1000
    # The view is leak-free because it filters: some co-reviews of history items come after the target.
    later = q(out, """SELECT count(*) FROM history h JOIN examples e USING (example_id)
                      JOIN reviews r ON r.item_id = h.item_id AND r.user_id <> e.user_id AND r.ts >= e.target_ts""")
    assert later[0][0] > 0


def test_split_order_per_user(sample):
    out, _ = sample
    bad = q(out, """SELECT count(*) FROM (SELECT user_id, category,
                      max(target_ts) FILTER (WHERE split = 'train') AS tr,
                      min(target_ts) FILTER (WHERE split = 'val') AS va,
                      min(target_ts) FILTER (WHERE split = 'test') AS te
                    FROM examples GROUP BY ALL) WHERE NOT (tr < va AND va < te)""")
    assert bad[0][0] == 0


def test_thresholds_hold_on_result_fixpoint(sample):
    out, _ = sample
    d = load_recipe("sample").data
    assert q(out, f"""SELECT count(*) FROM (SELECT item_id FROM reviews GROUP BY category, item_id
                      HAVING count(DISTINCT user_id) < {d.item_min_users})""")[0][0] == 0
    assert q(out, f"""SELECT count(*) FROM (SELECT user_id FROM reviews GROUP BY category, user_id
                      HAVING count(*) < {d.user_min_reviews})""")[0][0] == 0


def test_pure_python_reference_agrees(sample):
    out, _ = sample
    ref = build_reference(sorted((out / "raw").glob("*.jsonl.gz")), load_recipe("sample").data)
    ids = {r[0] for r in q(out, "SELECT example_id FROM examples")}
    assert ids == set(ref["examples"])
    assert q(out, "SELECT count(*) FROM history")[0][0] == sum(len(v) for v in ref["history"].values())


def shuffled_copy(src_dir, dst_dir, seed: int) -> None:
    dst_dir.mkdir(parents=True)
    rng = random.Random(seed)
    for p in sorted(src_dir.glob("*.jsonl.gz")):
        lines = gzip.decompress(p.read_bytes()).splitlines()
        rng.shuffle(lines)
        (dst_dir / p.name).write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))


def test_determinism_whatever_the_file_and_line_order(sample, tmp_path):
    out, report = sample
    shuffled_copy(out / "raw", tmp_path / "shuffled", seed=7)
    files = sorted((tmp_path / "shuffled").iterdir(), reverse=True)
    again = build_benchmark([str(p) for p in files], load_recipe("sample"), tmp_path / "b2")
    assert again.fingerprint == report.fingerprint
    assert {r[0] for r in q(tmp_path / "b2", "SELECT example_id FROM examples")} == {
        r[0] for r in q(out, "SELECT example_id FROM examples")}


def test_validate_detects_a_leak_and_a_wrong_fingerprint(sample, tmp_path):
    out, _ = sample
    shutil.copy(out / "benchmark.duckdb", tmp_path / "benchmark.duckdb")
    con = duckdb.connect(str(tmp_path / "benchmark.duckdb"))
    con.execute("""INSERT INTO history SELECT e.example_id, 999, e.target_review_id, e.item_id, e.target_ts, 0
                   FROM examples e LIMIT 1""")
    con.close()
    result = validate_benchmark(tmp_path)
    failed = {c.name for c in result.checks if not c.ok}
    assert not result.ok
    assert "no leakage: history and peers strictly before the target" in failed
    assert "fingerprint matches content" in failed


def test_validate_counts_peer_leaks_and_wrong_n_peers_exactly(sample, tmp_path):
    out, _ = sample
    leaky, off = tmp_path / "leaky", tmp_path / "off"
    for d in (leaky, off):
        d.mkdir()
        shutil.copy(out / "benchmark.duckdb", d / "benchmark.duckdb")
    # Expected counts, from the tables directly: other users' reviews of history items at or after the
    # target; the user's own review of each history item (one per row: one review per item per user).
    late = q(out, """SELECT count(*) FROM history h JOIN examples e USING (example_id)
                     JOIN reviews r ON r.item_id = h.item_id AND r.category = e.category
                     WHERE r.user_id <> e.user_id AND r.ts >= e.target_ts""")[0][0]
    n_hist = q(out, "SELECT count(*) FROM history")[0][0]
    assert late > 0
    con = duckdb.connect(str(leaky / "benchmark.duckdb"))
    con.execute("""CREATE OR REPLACE VIEW peers AS
                   SELECT h.example_id, h.item_id, r.user_id AS peer_user_id, r.review_id AS peer_review_id,
                          r.ts AS peer_ts
                   FROM history h JOIN examples e ON e.example_id = h.example_id
                   JOIN reviews r ON r.item_id = h.item_id AND r.category = e.category""")
    con.close()
    con = duckdb.connect(str(off / "benchmark.duckdb"))
    con.execute("UPDATE history SET n_peers = n_peers + 1 WHERE (example_id, position) IN "
                "(SELECT (example_id, position) FROM history ORDER BY example_id, position LIMIT 3)")
    con.close()
    checks = {c.name: c for c in validate_benchmark(leaky).checks}
    leak = checks["no leakage: history and peers strictly before the target"]
    assert not leak.ok
    assert leak.detail == (f"peer_rows_at_or_after_target={late}, history_rows_at_or_after_target=0, "
                           f"peer_rows_of_the_user={n_hist}")
    checks = {c.name: c for c in validate_benchmark(off).checks}
    assert checks["no leakage: history and peers strictly before the target"].ok
    assert not checks["history.n_peers equals the peers view's count"].ok
    assert checks["history.n_peers equals the peers view's count"].detail == "3 mismatches"


def test_examples_loader_reads_the_tables(sample):
    from dpbench.data.examples import connect, load_examples, select_example_ids

    out, _ = sample
    con = connect(out)
    ids = select_example_ids(con, "test", limit=5)
    exs = load_examples(con, ids, with_peers=True, max_peers_per_item=3)
    assert [e.example_id for e in exs] == ids
    for e in exs:
        assert e.history and all(h.review.ts < e.target_ts for h in e.history)
        assert [h.position for h in e.history] == list(range(len(e.history)))
        assert all(len(v) <= 3 and all(r.ts < e.target_ts and r.user_id != e.user_id for r in v)
                   for v in e.peers.values())
    con.close()


def test_exports_parquet_hf_dpl(sample, tmp_path):
    from datasets import load_from_disk

    from dpbench.data.export import export_benchmark

    out, report = sample
    paths = export_benchmark(out / "benchmark.duckdb", tmp_path, ("parquet", "hf", "dpl"))
    con = duckdb.connect()
    n_hist = con.execute(f"SELECT count(*) FROM '{paths['parquet'] / 'history.parquet'}'").fetchone()[0]
    assert n_hist == report.counts["history"]
    hf = load_from_disk(str(paths["hf"]))
    assert hf["test"].num_rows == report.counts["users"]
    row = hf["test"][0]
    assert row["history"] and row["history"][0]["ts"] < row["target_ts"]
    main = load_from_disk(str(paths["dpl"] / "DPL-main" / "Books"))
    assert set(main) == {"train", "val", "test"} and main["test"].column_names == ["user_id", "profile", "data"]
    r = main["test"][0]
    assert set(r["data"]) == {"rating", "title", "text", "asin", "timestamp"}
    ts = [p["timestamp"] for p in r["profile"]]
    assert ts == sorted(ts) and ts[-1] < r["data"]["timestamp"]  # oldest first, all before the target
    meta = load_from_disk(str(paths["dpl"] / "DPL-meta" / "Books"))
    assert meta["full"].column_names == ["asin", "title", "description"]


@pytest.mark.parametrize("uncompressed", [False, True])
def test_staged_texts_on_disk_give_the_same_benchmark(sample, tmp_path, monkeypatch, uncompressed):
    """Large inputs stage their texts in a scratch file (compressed, or not when the disk has room):
    the benchmark is the one built with the texts in memory."""
    from dpbench.data import build

    out, report = sample
    monkeypatch.setattr(build, "texts_in_memory", lambda files, limit: False)
    monkeypatch.setattr(build, "texts_uncompressed", lambda files, folder: uncompressed)
    seen = []
    real_stage = build.stage_files
    monkeypatch.setattr(build, "stage_files", lambda *a, **k: seen.append(k["uncompressed_texts"]) or real_stage(*a, **k))
    again = build_benchmark(sorted(str(p) for p in (out / "raw").glob("*.jsonl.gz")), load_recipe("sample"),
                            tmp_path / "b")
    assert seen == [uncompressed]
    assert again.fingerprint == report.fingerprint
