"""Choosing past reviews: BM25 (bm25s), recency, or dense similarity (dpbench.embed.Embedder).

As in the papers (docs/methods.md): query = target review title + target item description; each document = a past review's
title + its item description. Ties keep history order (position 0 = most recent), so a ranking
never depends on anything but the example.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dpbench.data.examples import Example, HistoryEntry


@dataclass(frozen=True)
class Ranked:
    entry: HistoryEntry
    score: float


def query_text(example: Example) -> str:
    return f"{example.review_title} {example.item.description}".strip()


def document_text(entry: HistoryEntry) -> str:
    return f"{entry.review.title} {entry.item.description}".strip()


def bm25_scores(query: str, docs: list[str]) -> np.ndarray:
    """BM25 (bm25s 'lucene' variant, k1=1.5, b=0.75, English stopwords, no stemming) of each doc."""
    if not docs:
        return np.zeros(0, dtype=np.float32)
    import bm25s

    corpus = bm25s.tokenize(docs, stopwords="en", show_progress=False, return_ids=False)
    q = bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)[0]
    if not any(corpus):
        return np.zeros(len(docs), dtype=np.float32)
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index(corpus, show_progress=False)
    vocab = {t for doc in corpus for t in doc}
    q = [t for t in q if t in vocab]  # bm25s rejects tokens it never indexed
    if not q:
        return np.zeros(len(docs), dtype=np.float32)
    return np.asarray(retriever.get_scores(q), dtype=np.float32)


def order_by_score(scores: np.ndarray) -> list[int]:
    """Indices by descending score; ties by index (history order: most recent first)."""
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))


def rank_bm25(example: Example, entries: list[HistoryEntry] | None = None) -> list[Ranked]:
    entries = example.history if entries is None else entries
    scores = bm25_scores(query_text(example), [document_text(e) for e in entries])
    return [Ranked(entries[i], float(scores[i])) for i in order_by_score(scores)]


def rank_recency(example: Example, entries: list[HistoryEntry] | None = None) -> list[Ranked]:
    entries = example.history if entries is None else entries
    ordered = sorted(entries, key=lambda e: e.position)
    return [Ranked(e, float(-e.position)) for e in ordered]


def rank_dense(example: Example, vectors: np.ndarray, query_vector: np.ndarray,
               entries: list[HistoryEntry] | None = None) -> list[Ranked]:
    """Cosine similarity of L2-normalized vectors (row i = entries[i])."""
    entries = example.history if entries is None else entries
    scores = vectors @ query_vector if len(entries) else np.zeros(0, dtype=np.float32)
    return [Ranked(entries[i], float(scores[i])) for i in order_by_score(scores)]


async def retrieve_bm25(example: Example, embed=None) -> list[Ranked]:
    return rank_bm25(example)


async def retrieve_recency(example: Example, embed=None) -> list[Ranked]:
    return rank_recency(example)


async def retrieve_dense(example: Example, embed=None) -> list[Ranked]:
    if embed is None:
        raise RuntimeError("dense retrieval needs an embedder")
    vecs = await embed([query_text(example)] + [document_text(e) for e in example.history])
    return rank_dense(example, vecs[1:], vecs[0])


async def retrieve(example: Example, retriever: str, k: int, embed=None) -> list[Ranked]:
    """Top-k history entries by the recipe's retriever (dpbench.methods.RETRIEVERS).
    `embed`: async texts -> vectors (dense only)."""
    from dpbench.methods import RETRIEVERS

    return (await RETRIEVERS.get(retriever)(example, embed))[:k]


def trace_ranked(ranked: list[Ranked]) -> list[dict]:
    return [{"review_id": r.entry.review.review_id, "item_id": r.entry.item.item_id,
             "position": r.entry.position, "score": round(r.score, 6)} for r in ranked]
