"""DPL's peer choice: leak-free, reviewed the item, reproducible KMeans picks."""

from __future__ import annotations

import asyncio
import dataclasses

import duckdb
import numpy as np
import pytest

from dpbench.llm.base import Sampling
from dpbench.llm.client import LLM
from dpbench.methods.base import MethodContext
from dpbench.methods.dpl import Dpl, choose_items, leak_free_peers, pick_representatives
from dpbench.recipes import load_recipe
from tests.helpers.fake_backend import FakeBackend, FakeEmbedder


def run_dpl(example, embedder, recipe=None):
    recipe = recipe or load_recipe("sample")

    async def go():
        ctx = MethodContext(llm=LLM(FakeBackend(), Sampling()), recipe=recipe, embedder=embedder)
        return await Dpl().predict(example, ctx)

    return asyncio.run(go())


def test_pick_representatives_hand_example():
    # user at the origin with one close peer (same cluster, dropped); four tight groups of three peers.
    user = [[0.0, 0.0]]
    near_user = [[0.2, 0.0]]
    groups = [[[10, 0], [11, 0], [9, 0]], [[0, 10], [0, 11], [0, 9]], [[-10, 0], [-11, 0], [-9, 0]],
              [[0, -10], [0, -11], [0, -9]]]
    x = np.array(user + near_user + [p for g in groups for p in g], dtype=np.float32)
    picks = pick_representatives(x, k=4, seed=42)
    # peer index = row - 1: the centre of each group is peer 1, 4, 7, 10 (rows 2, 5, 8, 11)
    assert sorted(picks) == [1, 4, 7, 10]
    assert pick_representatives(x, k=4, seed=42) == picks  # reproducible, order included
    assert 0 not in picks  # the peer in the user's cluster is never chosen


def test_pick_representatives_few_peers_and_duplicates():
    assert pick_representatives(np.zeros((4, 3)), k=4, seed=0) == [0, 1, 2]  # <= k peers: all of them
    dup = np.array([[1, 0]] + [[0, 1]] * 6, dtype=np.float32)  # six identical peers
    picks = pick_representatives(dup, k=4, seed=0)
    assert len(picks) == 4 and len(set(picks)) == 4


def test_leak_free_peers_filters_future_self_and_repeats(test_examples):
    ex = test_examples["u0"]
    item = ex.history[0].item.item_id
    base = ex.peers[item][0]
    tampered = dataclasses.replace(ex, peers={item: ex.peers[item] + [
        dataclasses.replace(base, review_id="future", ts=ex.target_ts + 1, user_id="u99"),
        dataclasses.replace(base, review_id="same-ts", ts=ex.target_ts, user_id="u98"),
        dataclasses.replace(base, review_id="self", user_id=ex.user_id),
        dataclasses.replace(base, review_id="older-dup", ts=base.ts - 5),
    ]})
    got = {r.review_id for r in leak_free_peers(tampered, item)}
    assert got == {r.review_id for r in ex.peers[item]}


def test_dpl_peers_reviewed_item_before_target(tiny_data, test_examples):
    con = duckdb.connect(str(tiny_data / "benchmark.duckdb"), read_only=True)
    reviews = {r[0]: r for r in con.execute("SELECT review_id, user_id, item_id, ts FROM reviews").fetchall()}
    con.close()
    for user in ("u0", "u5", "u11"):
        ex = test_examples[user]
        res = run_dpl(ex, FakeEmbedder())
        items = res.trace["items"]
        assert len(items) == 4
        for it in items:
            assert it["n_peers_available"] >= 4 and len(it["peers"]) == 4
            assert len({p["user_id"] for p in it["peers"]}) == 4
            for p in it["peers"]:
                _, uid, item_id, ts = reviews[p["review_id"]]
                assert item_id == it["item_id"] and uid == p["user_id"] != ex.user_id
                assert ts == p["ts"] < ex.target_ts


def test_dpl_items_need_min_peers(test_examples):
    ex = test_examples["u0"]
    counts = {h.item.item_id: len(leak_free_peers(ex, h.item.item_id)) for h in ex.history}
    chosen = choose_items(ex, n_items=8, min_peers=7)
    assert {r.entry.item.item_id for r in chosen} == {i for i, c in counts.items() if c >= 7}
    assert choose_items(ex, n_items=8, min_peers=1000) == []
    res = run_dpl(ex, FakeEmbedder(), load_recipe("sample", {"dpl.min_peers": 1000}))
    assert res.trace["items"] == [] and res.calls.usage.requests == 2  # summary + generation only


def test_dpl_kmeans_picks_reproducible(test_examples):
    ex = test_examples["u3"]
    a = run_dpl(ex, FakeEmbedder()).trace["items"]
    b = run_dpl(ex, FakeEmbedder()).trace["items"]
    assert [[p["review_id"] for p in i["peers"]] for i in a] == [[p["review_id"] for p in i["peers"]] for i in b]


@pytest.mark.slow
def test_dpl_with_packaged_embedder_is_reproducible(test_examples):
    from dpbench.embed import Embedder

    ex = test_examples["u2"]
    a = run_dpl(ex, Embedder("minilm-l6", device="cpu", cache=False)).trace["items"]
    b = run_dpl(ex, Embedder("minilm-l6", device="cpu", cache=False)).trace["items"]
    picks = [[p["review_id"] for p in i["peers"]] for i in a]
    assert picks == [[p["review_id"] for p in i["peers"]] for i in b]
    assert all(len(set(p)) == 4 for p in picks)
    # writing styles cycle with user % 4: the four picks of an item should not all share one style
    assert any(len({int(p["user_id"][1:]) % 4 for p in i["peers"]}) > 1 for i in a)
