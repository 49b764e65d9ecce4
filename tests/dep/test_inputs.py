"""DEP inputs: softmax-weighted difference vectors, slot selection, masking and leak-freedom."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpbench.data.examples import (
    Example,
    HistoryEntry,
    Item,
    Review,
    connect,
    load_examples,
    select_example_ids,
)
from dpbench.methods.dep.inputs import (
    build_all_inputs,
    build_inputs,
    difference_vector,
    peer_weights,
    select_slot_entries,
)
from tests.dep.helpers import FakeEmbedder, make_tiny_benchmark


def test_difference_vector_hand_computed():
    u = np.array([1.0, 0.0], dtype=np.float32)
    peers = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    # distances sqrt(2) and 0 -> softmax weights e^1.41421 / (e^1.41421 + 1) = 0.80443 and 0.19557
    w = peer_weights(u, peers)
    assert w == pytest.approx([0.80443, 0.19557], abs=1e-5)
    d = difference_vector(u, peers)
    # 0.80443 * ([1,0] - [0,1]) + 0.19557 * ([1,0] - [1,0])
    assert d == pytest.approx([0.80443, -0.80443], abs=1e-5)


def test_difference_vector_near_mean_difference_when_uniform():
    u = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    peers = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)  # equidistant -> uniform
    assert difference_vector(u, peers) == pytest.approx(u - peers.mean(0), abs=1e-6)


def test_temperature_sharpens_weights():
    u = np.array([1.0, 0.0], dtype=np.float32)
    peers = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    w = peer_weights(u, peers, temperature=0.1)
    assert w[0] == pytest.approx(1 / (1 + math.exp(-math.sqrt(2) / 0.1)), abs=1e-6)


def _rv(rid, user, item, ts, text=None):
    return Review(rid, user, item, 5.0, "t", text or f"text {rid}", ts)


def _example(n_hist: int, peered: set[int], target_ts: int = 10_000) -> Example:
    items = [Item(f"I{k}", f"item {k}", "", "C") for k in range(n_hist)]
    hist = [HistoryEntry(k, _rv(f"H{k}", "u", f"I{k}", target_ts - 100 * (k + 1)), items[k]) for k in range(n_hist)]
    peers = {f"I{k}": [_rv(f"P{k}", f"v{k}", f"I{k}", target_ts - 50)] for k in peered}
    return Example("E", "test", "u", Item("T", "t", "", "C"), "R", target_ts, 4.0, "title", "ref", hist, peers)


def test_slots_are_most_recent_peered_items_in_order():
    ex = _example(12, peered={0, 2, 3, 5, 6, 7, 8, 9, 10, 11})
    chosen = select_slot_entries(ex, 8)
    assert [h.item.item_id for h in chosen] == ["I0", "I2", "I3", "I5", "I6", "I7", "I8", "I9"]


def test_fewer_items_are_masked_not_shifted():
    ex = _example(5, peered={1, 3})
    emb = FakeEmbedder(4)
    inp = build_inputs(ex, lambda t: emb.encode([t])[0], 4, 8)
    assert inp.mask.tolist() == [True, True, False, False, False, False, False, False]
    assert [h.item.item_id for h in inp.slots] == ["I1", "I3"]
    assert np.all(inp.his[2:] == 0) and np.all(inp.diff[2:] == 0)
    assert np.allclose(inp.his[0], emb.encode(["text H1"])[0])
    # one peer: weight 1, so d = e(u) - e(peer)
    assert np.allclose(inp.diff[1], emb.encode(["text H3"])[0] - emb.encode(["text P3"])[0], atol=1e-6)


def test_future_and_own_peers_are_ignored():
    ex = _example(3, peered=set(), target_ts=10_000)
    ex.peers = {
        "I0": [_rv("F0", "v", "I0", 10_000)],  # at the target time: the future
        "I1": [_rv("F1", "v", "I1", 20_000), _rv("OK", "w", "I1", 9_000)],
        "I2": [_rv("SELF", "u", "I2", 5_000)],  # the user's own review is no peer
    }
    inp = build_inputs(ex, lambda t: np.ones(2, np.float32) * len(t), 2, 8)
    assert [h.item.item_id for h in inp.slots] == ["I1"]
    assert inp.n_peers == [1]


@pytest.mark.parametrize("ablate,his_zero,diff_zero", [("his", True, False), ("diff", False, True), ("both", True, True)])
def test_ablation_zeroes_vectors_keeps_mask(ablate, his_zero, diff_zero):
    ex = _example(4, peered={0, 1, 2, 3})
    emb = FakeEmbedder(4)
    inp = build_inputs(ex, lambda t: emb.encode([t])[0], 4, 8, ablate=ablate)
    assert inp.mask.sum() == 4
    assert np.all(inp.his == 0) == his_zero
    assert np.all(inp.diff == 0) == diff_zero


def test_leak_free_on_a_benchmark_and_one_encode_call(tmp_path):
    data = make_tiny_benchmark(tmp_path / "bench")
    con = connect(data)
    ids = select_example_ids(con, "test")
    exs = load_examples(con, ids, with_peers=True)
    emb = FakeEmbedder(8)
    inputs = build_all_inputs(exs, emb, 8)
    assert emb.calls == 1
    ts = dict(con.execute("SELECT review_id, ts FROM reviews").fetchall())
    for ex, inp in zip(exs, inputs):
        assert inp.mask.sum() == len(inp.slots) >= 1
        for h in inp.slots:
            assert h.review.ts < ex.target_ts
            assert all(ts[r.review_id] < ex.target_ts for r in ex.peers[h.item.item_id])
        # trace names exactly the slot items, most recent first
        tr = inp.trace()
        assert tr["slot_positions"] == sorted(tr["slot_positions"])
