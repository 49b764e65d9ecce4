"""Reviews at the same time as a target, empty histories and min_history, on a hand-made 2023 set.

Users u0..u5 review I0..I5, I_j on day j (u_k k minutes into the day): 3 examples each, histories of
3, 4 and 5 reviews (12 rows per user).
User t reviews I0 (day 0, +10 min) and I1 (day 1), then I2, I3, I4 all at one instant of day 9: its
three targets are tied with one another (which is test is decided by review id), and each target's
history is exactly [I1, I0]: the other two tied reviews are neither before nor after it.
User e reviews I0..I4 all at day 3, 00:00: its first target has no earlier review, so min_history = 1
removes it; with min_history = 0 it stays with three empty histories. Its I0 review is at the very
time of u0's train target (I3, day 3 + 0 min): not a peer of u0's I0 history item, but a peer of u1's
(day 3 + 1 min).
"""

from __future__ import annotations

import duckdb
import pytest

from dpbench.data.build import build_benchmark
from dpbench.data.validate import validate_benchmark
from dpbench.recipes import load_recipe
from tests.data.raw_fixtures import BASE, DAY, meta, review, write_jsonl
from tests.data.reference_impl import build_reference

MIN = 60_000


def tie_fixture(folder):
    rows = [review(f"u{k}", f"I{j}", BASE + j * DAY + k * MIN) for k in range(6) for j in range(6)]
    rows += [review("t", "I0", BASE + 10 * MIN), review("t", "I1", BASE + DAY)]
    rows += [review("t", f"I{j}", BASE + 9 * DAY) for j in (2, 3, 4)]
    rows += [review("e", f"I{j}", BASE + 3 * DAY) for j in range(5)]
    return [write_jsonl(folder / "Books.jsonl.gz", rows),
            write_jsonl(folder / "meta_Books.jsonl.gz", [meta(f"I{j}") for j in range(6)])]


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    return tie_fixture(tmp_path_factory.mktemp("ties"))


def build(raw, tmp_path, **data):
    recipe = load_recipe("sample", {f"data.{k}": v for k, v in data.items()})
    report = build_benchmark([str(p) for p in raw], recipe, tmp_path)
    return report, duckdb.connect(str(tmp_path / "benchmark.duckdb"), read_only=True), recipe


def test_min_history_one_removes_the_user_with_empty_histories(raw, tmp_path):
    report, con, recipe = build(raw, tmp_path / "b")
    c = report.counts
    assert (c["users"], c["examples"], c["history"]) == (7, 21, 6 * 12 + 3 * 2)
    assert report.warnings == {"examples_with_empty_history": 0, "examples_without_peer_covered_history": 0,
                               "targets_tied_with_another_review": 3}
    hist = con.execute("""SELECT e.split, list(h.item_id ORDER BY h.position) FROM examples e
                          JOIN history h USING (example_id) WHERE e.user_id = 't' GROUP BY ALL""").fetchall()
    assert sorted(hist) == [("test", ["I1", "I0"]), ("train", ["I1", "I0"]), ("val", ["I1", "I0"])]
    assert {r[0] for r in con.execute("SELECT item_id FROM examples WHERE user_id = 't'").fetchall()} == {
        "I2", "I3", "I4"}
    ref = build_reference(raw, recipe.data)
    assert set(ref["examples"]) == {r[0] for r in con.execute("SELECT example_id FROM examples").fetchall()}
    result = validate_benchmark(tmp_path / "b")
    assert result.ok and result.warnings == report.warnings


def test_min_history_zero_keeps_and_reports_empty_histories(raw, tmp_path):
    report, con, recipe = build(raw, tmp_path / "b", min_history=0)
    c = report.counts
    assert (c["users"], c["examples"], c["history"]) == (8, 24, 78)
    assert report.warnings == {"examples_with_empty_history": 3, "examples_without_peer_covered_history": 3,
                               "targets_tied_with_another_review": 6}
    # Peers at the target's very time are left out: e's I0 review (day 3, 00:00) is u0's train target time.
    n = dict(con.execute("""SELECT e.user_id, h.n_peers FROM history h JOIN examples e USING (example_id)
                            WHERE e.split = 'train' AND h.item_id = 'I0' AND e.user_id IN ('u0', 'u1')""").fetchall())
    assert n == {"u0": 6, "u1": 7}  # u0: u1..u5 and t; u1: also e
    peers_u0 = {r[0] for r in con.execute("""SELECT p.peer_user_id FROM peers p JOIN examples e USING (example_id)
                                            WHERE e.user_id = 'u0' AND e.split = 'train' AND p.item_id = 'I0'""").fetchall()}
    assert peers_u0 == {"u1", "u2", "u3", "u4", "u5", "t"}
    ref = build_reference(raw, recipe.data)
    assert len(ref["examples"]) == 24
    result = validate_benchmark(tmp_path / "b")
    assert result.ok and result.warnings == report.warnings


def test_tie_rule_drop_user_removes_users_with_tied_targets(raw, tmp_path):
    report, con, recipe = build(raw, tmp_path / "b", tie_rule="drop_user")
    assert report.counts["users"] == 6 and report.warnings["targets_tied_with_another_review"] == 0
    assert {r[0] for r in con.execute("SELECT DISTINCT user_id FROM examples").fetchall()} == {
        f"u{k}" for k in range(6)}
    assert len(build_reference(raw, recipe.data)["examples"]) == 18


def test_min_history_above_the_shortest_history_runs_inside_the_fixpoint(raw, tmp_path):
    """min_history = 3: t (2 earlier reviews) goes; u0..u5 keep histories 3, 4, 5; the item thresholds
    still hold afterwards (validate checks both)."""
    report, _, recipe = build(raw, tmp_path / "b", min_history=3)
    assert report.counts["users"] == 6 and report.counts["history"] == 72
    assert len(build_reference(raw, recipe.data)["examples"]) == 18
    checks = {c.name: c.ok for c in validate_benchmark(tmp_path / "b").checks}
    assert checks["every example has ≥ 3 history reviews (min_history)"]
    assert all(checks.values())
