"""BM25 ranking against hand-computed scores (bm25s 'lucene': idf = ln(1 + (N - df + .5) / (df + .5)),
tf part = tf / (tf + k1 (1 - b + b dl / avgdl)), k1 = 1.5, b = 0.75)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpbench.methods.retrieval import (
    bm25_scores,
    order_by_score,
    query_text,
    rank_bm25,
    rank_recency,
)


def hand_bm25(tf: int, df: int, n: int, dl: int, avgdl: float) -> float:
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * dl / avgdl))


def test_bm25_scores_match_hand_computation():
    docs = ["a cat sat on the mat", "dogs and cats", "the blender is loud"]
    # after English stopwords: [cat sat mat] [dogs cats] [blender loud]; avgdl = 7/3; no stemming: cats != cat
    scores = bm25_scores("loud cat", docs)
    expected = [hand_bm25(1, 1, 3, 3, 7 / 3), 0.0, hand_bm25(1, 1, 3, 2, 7 / 3)]
    assert scores == pytest.approx(expected, abs=1e-5)
    assert scores[0] == pytest.approx(0.34764, abs=1e-4) and scores[2] == pytest.approx(0.41929, abs=1e-4)
    assert order_by_score(scores) == [2, 0, 1]


def test_bm25_edge_cases():
    assert bm25_scores("anything", []).shape == (0,)
    assert list(bm25_scores("zebra", ["a cat", "a dog"])) == [0.0, 0.0]  # query words never indexed
    assert order_by_score(np.array([1.0, 2.0, 1.0])) == [1, 0, 2]  # ties keep history order


def test_rag_bm25_ranking_on_tiny_example(test_examples):
    ex = test_examples["u0"]  # target: item i6 (steamer); history items i5..i0 at positions 0..5
    assert query_text(ex) == "steamer take 0 A bamboo food steamer with two tiers for dumplings and vegetables."
    ranked = rank_bm25(ex)
    # i2's description shares "two" (df 1); every doc shares "take" (df 6); docs of 10 tokens beat 11;
    # ties by position (most recent first).
    assert [r.entry.item.item_id for r in ranked] == ["i2", "i3", "i0", "i5", "i4", "i1"]
    take10 = hand_bm25(1, 6, 6, 10, 10.5)
    assert ranked[0].score == pytest.approx(hand_bm25(1, 1, 6, 10, 10.5) + take10, abs=1e-5)
    assert ranked[1].score == pytest.approx(take10, abs=1e-6)
    assert ranked[3].score == pytest.approx(hand_bm25(1, 6, 6, 11, 10.5), abs=1e-6)


def test_recency_ranking(test_examples):
    ranked = rank_recency(test_examples["u0"])
    assert [r.entry.position for r in ranked] == [0, 1, 2, 3, 4, 5]
    assert [r.entry.item.item_id for r in ranked] == ["i5", "i4", "i3", "i2", "i1", "i0"]


def test_dense_ranking_by_cosine(test_examples):
    import asyncio

    from dpbench.methods.retrieval import rank_dense, retrieve
    from tests.helpers.fake_backend import FakeEmbedder

    ex = test_examples["u0"]
    vecs = np.zeros((6, 2), dtype=np.float32)
    vecs[:, 0] = [0.1, 0.9, 0.5, 0.9, -1.0, 0.3]  # positions 0..5; rows 1 and 3 tie → position order
    ranked = rank_dense(ex, vecs, np.array([1.0, 0.0], dtype=np.float32))
    assert [r.entry.position for r in ranked] == [1, 3, 2, 5, 0, 4]

    async def embed(texts):
        return FakeEmbedder().encode(texts)

    top = asyncio.run(retrieve(ex, "dense", 2, embed))
    # the query (review title + description) is embedded apart from the documents (title + item description)
    from dpbench.methods.retrieval import document_text, query_text

    e = FakeEmbedder()
    q = e.encode([query_text(ex)])[0]
    sims = [float(e.encode([document_text(h)])[0] @ q) for h in ex.history]
    best = sorted(range(6), key=lambda i: (-sims[i], i))[:2]
    assert [t.entry.position for t in top] == [ex.history[i].position for i in best]
    assert top[0].score == pytest.approx(max(sims), abs=1e-6)
