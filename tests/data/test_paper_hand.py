"""The paper recipe on a hand-written fixture (tests/data/raw_fixtures.py: write_paper_fixture), with
every count worked out by hand below. Thresholds (recipes/paper.toml): descriptions 100-2000 chars,
item title/categories/rating_number required, texts >= 200 chars with a title, core loop items >= 8
users and users 18-500 unique reviews, last 10 reviews are targets, profile loop items >= 5 users and
profiles >= 8 reviews.

Metadata, 29 rows: G00..G19 (good), PD (["Product Description", 120 chars] → good: the header is
dropped), Z, Q (good), and 6 bad items: B_short (99 chars), B_long (2001), B_notitle, B_nocat,
B_rn0 (rating_number 0), B_pdonly (["Product Description"] → empty). Items kept: 29 - 6 = 23.

Reviews, 359 lines:
  240  U00..U11 each review G00..G19, G_j at day j (so G10..G19 are their newest ten)
    6  U00 reviews each bad item
   10  PD: U01 (199-char text), U02 (empty title), U03..U10 (U03's text = its G00 text with extra spaces)
   17  V reviews G00..G16; its G15 and G16 texts are identical
    8  Z: U00..U06 and V (old)
    1  U11 reviews G04 again between its G04 and G05 reviews, with its G05 text ("B")
    1  U01's G00 line repeated → rejected as an exact duplicate: 358 clean
   72  P0..P3: Q (old), G00..G06, G10..G19 (18 each)
    4  U00..U03 review Q, newest of all
Step 2: drop U00's 6 bad-item reviews, U01's short and U02's untitled PD review: 358 - 8 = 350.
Core loop: pass 1 — V has 18 rows but 17 unique (G15 repeats G16's text) < 18: V's 18 rows go (332);
Z still had 8 users in that pass. Pass 2 — Z has 7 users < 8: its 7 rows go (325). Pass 3 removes
nothing: 3 passes, 325 rows, 16 users (U00..U11, P0..P3), 22 items (G*, PD, Q).
Step 4: U11's B is skipped by the newest-first walk (its text was met at G05), and U11's real G04
review stays (G04 was not met: B was skipped, the published walk only records kept reviews); U03's
PD review equals its G00 text once whitespace is normalized: 325 - 2 = 323.
Targets: U00..U03 → Q + G19..G11 (profile G00..G10); U04..U11 → G10..G19; P* → G10..G19 (profile Q + G00..G06).
Profile loop pass 1: profile users per item — G00..G06: 16, G07..G09: 12, G10: 4 (U00..U03 only),
PD: 7 (U04..U10), Q: 4 (P*). G10 and Q (< 5) leave the profiles; P* drop to 7 < 8 profile reviews
and are removed with their targets: 323 - 4 (G10) - 4 (Q) - 4 × 17 = 247 rows, 12 users. Pass 2
changes no user: 2 passes. Q stays an item: it is U00..U03's test target (targets are never filtered).
Examples: 12 users × 10 = 120 (96 train, 12 val, 12 test). History rows: a user with profile p has
10·p + (0 + 1 + … + 9) = 10p + 45; U00..U03 p = 10 (145), U04..U10 p = 11 (155), U11 p = 10 (145):
4·145 + 7·155 + 145 = 1,810.
"""

from __future__ import annotations

import duckdb
import pytest

from dpbench.data.build import build_benchmark
from dpbench.recipes import load_recipe
from tests.data.raw_fixtures import write_paper_fixture
from tests.data.reference_impl import build_reference


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paper_hand")
    paths = write_paper_fixture(tmp / "raw")
    recipe = load_recipe("paper", {"data.categories": ["Books"]})
    report = build_benchmark([str(p) for p in paths], recipe, tmp / "out")
    return paths, recipe, report, duckdb.connect(str(tmp / "out" / "benchmark.duckdb"), read_only=True)


def test_step_counts_match_hand_computation(built):
    _, _, report, _ = built
    steps = {s["step"]: (s["rows"], s["users"], s["items"]) for s in report.steps}
    assert steps["raw review lines"][0] == 359
    assert steps["clean reviews"][0] == 358
    assert steps["items with metadata (clean)"][0] == 29
    assert steps["items passing item filters"][0] == 23
    assert steps["reviews passing review filters"][0] == 350
    assert steps["core loop (3 passes)"] == (325, 16, 22)
    assert steps["normalize + deduplicate per user"] == (323, 16, 22)
    assert steps["profile loop (2 passes)"] == (247, 12, 22)
    assert report.loops == {"core_loop_passes": 3, "profile_loop_passes": 2}
    assert report.rejects == {"reviews:duplicate": {"count": 1, "examples": ["Books.jsonl.gz:283"]}}


def test_final_tables_match_hand_computation(built):
    _, _, report, con = built
    c = report.counts
    assert (c["users"], c["items"], c["reviews"], c["examples"], c["history"]) == (12, 22, 247, 120, 1810)
    assert c["examples_by_split"] == {"test": 12, "train": 96, "val": 12}
    users = {r[0] for r in con.execute("SELECT DISTINCT user_id FROM examples").fetchall()}
    assert users == {f"U{k:02d}" for k in range(12)}
    # Q is U00..U03's test target; the profile loop dropped G10 from their profiles.
    tests = dict(con.execute("SELECT user_id, item_id FROM examples WHERE split = 'test'").fetchall())
    assert [tests[f"U0{k}"] for k in range(4)] == ["Q", "Q", "Q", "Q"] and tests["U04"] == "G19"
    g10_hist = con.execute(
        """SELECT count(*) FROM history h JOIN examples e USING (example_id)
           WHERE e.user_id IN ('U00', 'U01', 'U02', 'U03') AND h.item_id = 'G10'"""
    ).fetchone()[0]
    assert g10_hist == 0
    # The greedy walk keeps U11's genuine G04 review (the duplicate-text one is gone).
    u11 = con.execute("SELECT count(*), count(DISTINCT item_id) FROM reviews WHERE user_id = 'U11'").fetchone()
    assert u11 == (20, 20)
    # U03's whitespace variant of its G00 text is gone; PD keeps U04..U10.
    pd_users = con.execute("SELECT count(*) FROM reviews WHERE item_id = 'PD'").fetchone()[0]
    assert pd_users == 7
    desc = con.execute("SELECT description FROM items WHERE item_id = 'PD'").fetchone()[0]
    assert desc == "y" * 120


def test_independent_python_implementation_agrees(built):
    paths, recipe, _, con = built
    ref = build_reference(paths, recipe.data)
    assert (ref["core_passes"], ref["profile_passes"]) == (3, 2)
    ex = {r[0]: (r[1], r[2], r[3]) for r in con.execute(
        "SELECT example_id, split, user_id, target_review_id FROM examples").fetchall()}
    assert ex == ref["examples"]
    hist: dict[str, list[str]] = {}
    for eid, rid in con.execute("SELECT example_id, review_id FROM history ORDER BY example_id, position").fetchall():
        hist.setdefault(eid, []).append(rid)
    assert hist == {k: v for k, v in ref["history"].items() if v}


def test_core_loop_is_a_fixpoint(tmp_path):
    """Running the core loop again on its own output removes nothing (one pass, same rows)."""
    from dpbench.data import filters
    from dpbench.data.sources import describe_file
    from dpbench.data.stage import mark_cross_file_rejects, stage_files

    paths = write_paper_fixture(tmp_path / "raw")
    d = load_recipe("paper", {"data.categories": ["Books"]}).data
    con = duckdb.connect()
    stage_files(con, [describe_file(p) for p in sorted(paths)])
    mark_cross_file_rejects(con, d.require_metadata)
    filters.run_filters(con, d, lambda step: None)
    before = con.execute("SELECT count(*) FROM cur").fetchone()[0]
    assert before == 325
    assert filters.run_core_loop(con, d, "cur", count_unique=True) == 1
    assert con.execute("SELECT count(*) FROM cur").fetchone()[0] == before
