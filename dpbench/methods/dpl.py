"""DPL, difference-aware personalization learning, prompt-only (docs/methods.md):

1. pick N history items by BM25 (as RAG does) among items with >= min_peers leak-free peers;
2. per item, embed the user's and the peers' reviews, KMeans with K+1 clusters (seeded), drop the
   user's cluster, take the peer review nearest each remaining centroid: K representative peers;
3. per item, one call: how the user's review differs (writing / emotional / semantic style);
4. one call: summarize the differences plus the past reviews into a profile;
5. one call: write the review from the item, the RAG past reviews, the profile, rating and title.

Peers are re-checked here (timestamp < target, another user), so even a benchmark whose peers
table leaked the future could not leak into DPL's prompts.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, ClassVar

import numpy as np

from dpbench.data.examples import Example, HistoryEntry, Review
from dpbench.methods.base import MethodContext, MethodResult, call_llm, finish
from dpbench.methods.prompts import (
    Truncation,
    build_dpl_difference,
    build_dpl_summary,
    build_generation,
    cut_text,
)
from dpbench.methods.retrieval import Ranked, rank_bm25, retrieve, trace_ranked
from dpbench.recipes import Recipe

NO_DIFFERENCES = "(none: no past item has enough earlier reviews by other users)"


def leak_free_peers(example: Example, item_id: str) -> list[Review]:
    """Other users' reviews of the item written before the target, one per user (newest kept)."""
    seen: set[str] = set()
    out = []
    for r in sorted(example.peers.get(item_id, []), key=lambda r: (-r.ts, r.review_id)):
        if r.ts < example.target_ts and r.user_id != example.user_id and r.user_id not in seen:
            seen.add(r.user_id)
            out.append(r)
    return out


def choose_items(example: Example, n_items: int, min_peers: int) -> list[Ranked]:
    """Top-N history entries by BM25 among those whose item has at least min_peers leak-free peers."""
    eligible = [e for e in example.history if len(leak_free_peers(example, e.item.item_id)) >= min_peers]
    return rank_bm25(example, eligible)[:n_items]


def pick_representatives(vectors: np.ndarray, k: int, seed: int) -> list[int]:
    """vectors[0] is the user's review, rows 1.. the peers'. KMeans with k+1 clusters, drop the user's
    cluster, take the peer nearest each remaining centroid. Returns 0-based peer indices (cluster order);
    with <= k peers, all of them. Empty or duplicate clusters are topped up with the peers nearest to
    the remaining centroids so exactly min(k, n_peers) distinct peers come back."""
    n_peers = len(vectors) - 1
    if n_peers <= k:
        return list(range(n_peers))
    from sklearn.cluster import KMeans

    x = np.asarray(vectors, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identical reviews: fewer distinct points than clusters
        km = KMeans(n_clusters=k + 1, random_state=seed, n_init=10).fit(x)
    labels, centers = km.labels_, km.cluster_centers_
    user_cluster = labels[0]
    others = [c for c in range(k + 1) if c != user_cluster]
    picks: list[int] = []
    for c in others:
        members = [i for i in range(1, n_peers + 1) if labels[i] == c and (i - 1) not in picks]
        if members:
            dist = np.linalg.norm(x[members] - centers[c], axis=1)
            picks.append(members[int(np.argmin(dist))] - 1)
    if len(picks) < k:  # top up: nearest remaining peers to any non-user centroid
        rest = [i for i in range(n_peers) if i not in picks]
        dist = np.min(np.linalg.norm(x[1:][rest][:, None, :] - centers[others][None], axis=2), axis=1)
        picks += [rest[j] for j in np.argsort(dist, kind="stable")[: k - len(picks)]]
    return picks


def trace_peer(r: Review, limit: int | None) -> dict[str, Any]:
    return {"review_id": r.review_id, "user_id": r.user_id, "ts": r.ts, "rating": r.rating,
            "title": r.title, "text": cut_text(r.text, limit)}


class Dpl:
    name: ClassVar[str] = "dpl"
    runner: ClassVar[str] = "prompt"
    needs_peers: ClassVar[bool] = True

    def uses_embedder(self, recipe: Recipe) -> bool:
        return True

    def describe(self, recipe: Recipe) -> dict[str, Any]:
        return {"dpl": recipe.dpl.model_dump(), "rag": recipe.rag.model_dump(), "kmeans_n_init": 10}

    async def select_peers(self, example: Example, chosen: list[Ranked], ctx: MethodContext
                           ) -> list[list[Review]]:
        """K representative peers per chosen item (one embedding call for all items)."""
        groups = [leak_free_peers(example, r.entry.item.item_id) for r in chosen]
        texts = [t for r, peers in zip(chosen, groups) for t in [r.entry.review.text] + [p.text for p in peers]]
        vectors = await ctx.embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        out, start = [], 0
        cfg = ctx.recipe.dpl
        for peers in groups:
            block = vectors[start : start + 1 + len(peers)]
            start += 1 + len(peers)
            out.append([peers[i] for i in pick_representatives(block, cfg.k_peers, ctx.recipe.generation.seed)])
        return out

    async def describe_difference(self, entry: HistoryEntry, peers: list[Review], ctx: MethodContext,
                                  cut: Truncation) -> str:
        messages = build_dpl_difference(entry.item, entry.review, peers, cut)
        return await call_llm(ctx, messages)

    async def predict(self, example: Example, ctx: MethodContext) -> MethodResult:
        cfg, cut = ctx.recipe.dpl, ctx.truncation()
        chosen = choose_items(example, cfg.n_items, cfg.min_peers)
        reps = await self.select_peers(example, chosen, ctx)
        diffs = await asyncio.gather(*[
            self.describe_difference(r.entry, peers, ctx, cut) for r, peers in zip(chosen, reps)
        ])
        past = [r.entry for r in chosen]
        pairs = [(r.entry.item.title, d) for r, d in zip(chosen, diffs)]
        ranked = await retrieve(example, ctx.recipe.rag.retriever, ctx.recipe.rag.k, ctx.embed)
        if not pairs:  # no item qualifies: summarize the RAG reviews alone
            past, pairs = [r.entry for r in ranked], [("-", NO_DIFFERENCES)]
        summary_raw = await call_llm(ctx, build_dpl_summary(past, pairs, cut))
        profile = summary_raw.strip()
        messages = build_generation(example, cut, past=[r.entry for r in ranked], profile=profile)
        limit = ctx.recipe.generation.max_review_chars
        trace = {
            "method": self.name,
            "items": [
                {"item_id": r.entry.item.item_id, "item_title": r.entry.item.title,
                 "review_id": r.entry.review.review_id, "position": r.entry.position, "bm25": round(r.score, 6),
                 "n_peers_available": len(leak_free_peers(example, r.entry.item.item_id)),
                 "peers": [trace_peer(p, limit) for p in peers], "difference": d.strip()}
                for r, peers, d in zip(chosen, reps, diffs)
            ],
            "summary": profile,
            "retriever": ctx.recipe.rag.retriever,
            "retrieved": trace_ranked(ranked),
            "target_ts": example.target_ts,
        }
        return await finish(ctx, messages, trace, cut)
