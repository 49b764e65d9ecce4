"""DEP's per-example inputs: history and difference vectors over fixed slots, with a mask.

For a target example, the slots are the n most recent history items that have at least one
leak-free peer (another user's review of the item written before the target). Slot k holds
the user's review embedding e(u,j) and the difference d(u,j) = sum_r w_r (e(u,j) - e(r,j)).
A user with fewer such items gets masked slots at the end (zero vectors, mask False): slots are
never shifted or padded with other items, so slot k always means "k-th most recent covered item".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # types only: importing them pulls in duckdb, which a bare GPU image may lack
    from dpbench.data.examples import Example, HistoryEntry, Review

ABLATIONS = ("none", "diff", "his", "both")


@dataclass
class DepInputs:
    """The vectors one example feeds into DEP (numpy, float32)."""

    example_id: str
    his: np.ndarray  # (n_slots, D)
    diff: np.ndarray  # (n_slots, D)
    mask: np.ndarray  # (n_slots,) bool: True = a real slot
    slots: list[HistoryEntry] = field(default_factory=list)  # the entries behind the True slots
    n_peers: list[int] = field(default_factory=list)

    def trace(self) -> dict:
        return {
            "slot_item_ids": [h.item.item_id for h in self.slots],
            "slot_review_ids": [h.review.review_id for h in self.slots],
            "slot_positions": [h.position for h in self.slots],
            "slot_n_peers": list(self.n_peers),
            "mask": [bool(m) for m in self.mask],
        }


def leak_free_peers(example: Example, item_id: str) -> list[Review]:
    """Other users' reviews of item_id written strictly before the target (re-checked here, so a
    method never trusts a peers table blindly)."""
    return [r for r in example.peers.get(item_id, [])
            if r.ts < example.target_ts and r.user_id != example.user_id]


def select_slot_entries(example: Example, n_slots: int) -> list[HistoryEntry]:
    """The n most recent history entries (position 0 = most recent) whose item has leak-free peers."""
    chosen: list[HistoryEntry] = []
    for h in sorted(example.history, key=lambda h: h.position):
        if h.review.ts >= example.target_ts:
            continue  # never a review from the target's future
        if leak_free_peers(example, h.item.item_id):
            chosen.append(h)
        if len(chosen) == n_slots:
            break
    return chosen


def softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max()
    e = np.exp(z)
    return e / e.sum()


def peer_weights(user_vec: np.ndarray, peer_vecs: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax over the Euclidean distances between the user's and each peer's embedding.

    With L2-normalized embeddings distances lie in [0, 2], so at temperature 1 the weights stay
    close to uniform and d(u,j) is close to "user minus the mean of the peers" (docs/methods.md)."""
    dist = np.linalg.norm(peer_vecs - user_vec[None, :], axis=1)
    return softmax(dist / temperature)


def difference_vector(user_vec: np.ndarray, peer_vecs: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """d(u,j) = sum_r w_r (e(u,j) - e(r,j))."""
    w = peer_weights(user_vec, peer_vecs, temperature)
    return (w[:, None] * (user_vec[None, :] - peer_vecs)).sum(axis=0).astype(np.float32)


def texts_to_embed(examples: list[Example], n_slots: int) -> list[str]:
    """Every review text DEP needs for these examples (slot reviews and their peers), deduplicated."""
    out: dict[str, None] = {}
    for ex in examples:
        for h in select_slot_entries(ex, n_slots):
            out[h.review.text] = None
            for r in leak_free_peers(ex, h.item.item_id):
                out[r.text] = None
    return list(out)


def build_inputs(example: Example, embed: Callable[[str], np.ndarray], dim: int, n_slots: int,
                 temperature: float = 1.0, ablate: str = "none") -> DepInputs:
    """Slot vectors for one example. `embed` maps a review text to its (D,) embedding.

    ablate zeroes the history ("his"), difference ("diff") or both vectors of every slot, keeping
    the mask, so an ablated model sees the same prompt without the user's signal."""
    if ablate not in ABLATIONS:
        raise ValueError(f"ablate must be one of {ABLATIONS}, got {ablate!r}")
    his = np.zeros((n_slots, dim), dtype=np.float32)
    diff = np.zeros((n_slots, dim), dtype=np.float32)
    mask = np.zeros(n_slots, dtype=bool)
    slots = select_slot_entries(example, n_slots)
    n_peers = []
    for k, h in enumerate(slots):
        peers = leak_free_peers(example, h.item.item_id)
        u = embed(h.review.text)
        p = np.stack([embed(r.text) for r in peers])
        his[k] = u
        diff[k] = difference_vector(u, p, temperature)
        mask[k] = True
        n_peers.append(len(peers))
    if ablate in ("his", "both"):
        his[:] = 0.0
    if ablate in ("diff", "both"):
        diff[:] = 0.0
    return DepInputs(example.example_id, his, diff, mask, slots, n_peers)


def build_all_inputs(examples: list[Example], embedder, n_slots: int, temperature: float = 1.0,
                     ablate: str = "none", progress: bool = False) -> list[DepInputs]:
    """Embed every needed text once (through the shared embedding cache), then build slot vectors."""
    texts = texts_to_embed(examples, n_slots)
    vecs = embedder.encode(texts, progress=progress) if texts else np.zeros((0, 1), dtype=np.float32)
    table = {t: vecs[i] for i, t in enumerate(texts)}
    dim = int(vecs.shape[1]) if texts else int(embedder.dim)
    return [build_inputs(ex, table.__getitem__, dim, n_slots, temperature, ablate) for ex in examples]
