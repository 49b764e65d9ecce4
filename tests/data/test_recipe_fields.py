"""Recipe fields that the other data tests do not reach: peer bound, user maximum, paper-only
review rules, per-category filtering, threads and memory settings."""

from __future__ import annotations

import duckdb

from dpbench.data.build import build_benchmark
from dpbench.data.validate import validate_benchmark
from dpbench.recipes import load_recipe
from tests.data.raw_fixtures import BASE, DAY, meta, review, write_jsonl


def grid(folder, users: int = 6, items: int = 6, extra: list | None = None):
    """users × items, every user reviews every item on day j (users offset by minutes)."""
    rows = [review(f"u{k}", f"I{j}", BASE + j * DAY + k * 60_000) for k in range(users) for j in range(items)]
    write_jsonl(folder / "Books.jsonl.gz", rows + (extra or []))
    write_jsonl(folder / "meta_Books.jsonl.gz", [meta(f"I{j}") for j in range(items)])
    return [str(folder / "Books.jsonl.gz"), str(folder / "meta_Books.jsonl.gz")]


def test_max_peers_per_item_bounds_the_view_most_recent_first(tmp_path):
    src = grid(tmp_path / "raw")
    recipe = load_recipe("sample", {"data.max_peers_per_item": 2, "data.duckdb_threads": 1,
                                    "data.duckdb_memory_limit": "500MB"})
    build_benchmark(src, recipe, tmp_path / "out")
    con = duckdb.connect(str(tmp_path / "out" / "benchmark.duckdb"), read_only=True)
    # u5's test target is I5 (day 5); its history item I4 was reviewed before that by u0..u4, all
    # on day 4: 5 leak-free peers, of which the view keeps the 2 most recent (u4, u3).
    rows = con.execute("""SELECT p.peer_user_id FROM peers p JOIN examples e USING (example_id)
                          WHERE e.user_id = 'u5' AND e.split = 'test' AND p.item_id = 'I4'
                          ORDER BY p.peer_ts DESC""").fetchall()
    assert [r[0] for r in rows] == ["u4", "u3"]
    n = con.execute("""SELECT h.n_peers FROM history h JOIN examples e USING (example_id)
                       WHERE e.user_id = 'u5' AND e.split = 'test' AND h.item_id = 'I4'""").fetchone()[0]
    assert n == 5
    con.close()
    assert validate_benchmark(tmp_path / "out").ok


def test_peers_exclude_reviews_at_the_target_time(tmp_path):
    # u9 reviews I3 at exactly u0's test-target time (I5, day 5): not a peer of u0's I3 history item.
    tie = review("u9", "I3", BASE + 5 * DAY)
    src = grid(tmp_path / "raw", extra=[tie] + [review("u9", f"I{j}", BASE + (10 + j) * DAY) for j in (0, 1, 2, 4, 5)])
    build_benchmark(src, load_recipe("sample"), tmp_path / "out")
    con = duckdb.connect(str(tmp_path / "out" / "benchmark.duckdb"), read_only=True)
    peers_i3 = con.execute("""SELECT p.peer_user_id FROM peers p JOIN examples e USING (example_id)
                              WHERE e.user_id = 'u0' AND e.split = 'test' AND p.item_id = 'I3'
                              ORDER BY 1""").fetchall()
    assert [r[0] for r in peers_i3] == ["u1", "u2", "u3", "u4", "u5"]
    con.close()


def test_user_max_reviews_removes_heavy_users(tmp_path):
    extra = [review("u0", f"I{j}", BASE + 20 * DAY + j) for j in range(6, 9)]
    extra += [review(f"u{k}", f"I{j}", BASE + 30 * DAY + k) for k in (1, 2) for j in range(6, 9)]
    src = grid(tmp_path / "raw", extra=extra)
    # u0, u1, u2 have 9 reviews, the others 6; a maximum of 8 removes the first three.
    meta_rows = [meta(f"I{j}") for j in range(9)]
    write_jsonl(tmp_path / "raw" / "meta_Books.jsonl.gz", meta_rows)
    report = build_benchmark(src, load_recipe("sample", {"data.user_max_reviews": 8}), tmp_path / "out")
    con = duckdb.connect(str(tmp_path / "out" / "benchmark.duckdb"), read_only=True)
    users = sorted(r[0] for r in con.execute("SELECT DISTINCT user_id FROM examples").fetchall())
    assert users == ["u3", "u4", "u5"] and report.counts["items"] == 6
    con.close()


def test_review_and_item_rules(tmp_path):
    """min_text_chars counts the normalized text in simple semantics; require_review_title drops
    untitled reviews; desc_min_chars drops items, and with metadata required, their reviews."""
    # 6 users × items I0..I9; the text of item j is j + 5 letters plus three spaces (normalized: j + 5 chars).
    rows = [review(f"u{k}", f"I{j}", BASE + j * DAY + k, "x" * (5 + j) + "   ", title="" if j == 1 else "t")
            for k in range(6) for j in range(10)]
    write_jsonl(tmp_path / "Books.jsonl.gz", rows)
    write_jsonl(tmp_path / "meta_Books.jsonl.gz", [meta(f"I{j}", desc=["d" * (50 if j == 9 else 150)]) for j in range(10)])
    recipe = load_recipe("sample", {"data.require_review_title": True, "data.desc_min_chars": 100,
                                    "data.require_metadata": True, "data.min_text_chars": 8})
    report = build_benchmark([str(tmp_path)], recipe, tmp_path / "out")
    steps = {s["step"]: s["rows"] for s in report.steps}
    # I9: description 50 < 100 chars; I1: untitled; I0..I2: normalized text 5..7 < 8 chars (raw 8..10
    # would pass). Left: I3..I8 = 6 items × 6 users = 36 reviews, every user with 6 >= 5.
    assert steps["items passing item filters"] == 9
    assert steps["reviews passing review filters"] == 36
    assert report.counts["users"] == 6 and report.counts["items"] == 6
