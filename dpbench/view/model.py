"""The view's typed data: what `collect` gathers from run directories, scores and the benchmark, and
what `encode` turns into the page's compact JSON. Texts shared by runs (the example, the user's history,
items, peer reviews) are held once; each run holds only its own output per example."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ItemText:
    item_id: str
    title: str
    description: str


@dataclass(frozen=True)
class ReviewText:
    """A review shown on the page: one of the user's history reviews or a peer's review."""

    review_id: str
    user_id: str
    item_id: str
    ts: int  # milliseconds
    rating: float
    title: str
    text: str


@dataclass
class ExampleView:
    example_id: str
    benchmark: str
    split: str
    user_id: str
    item_id: str
    target_ts: int
    rating: float
    review_title: str
    reference: str
    target_description: str
    history: list[tuple[int, str]] = field(default_factory=list)  # (position, review_id), newest first
    n_history: int = 0  # entries in the benchmark (the page may carry fewer)


@dataclass(frozen=True)
class DplItem:
    """One history item DPL chose: the user's review of it, the representative peers, the difference."""

    item_id: str
    review_id: str
    position: int | None
    bm25: float | None
    n_peers_available: int | None
    peer_ids: list[str]
    difference: str


@dataclass(frozen=True)
class Slot:
    """One of DEP's history slots: filled by a history entry, or masked (no entry with peers)."""

    index: int
    masked: bool
    review_id: str | None = None
    item_id: str | None = None
    position: int | None = None
    n_peers: int | None = None


@dataclass
class Trace:
    """The intermediates of one output, by method; None where the method has none."""

    retrieved: list[tuple[str, float | None]] | None = None  # RAG/PAG/DPL: (review_id, score)
    profile: str | None = None  # PAG
    dpl_items: list[DplItem] | None = None
    summary: str | None = None  # DPL
    slots: list[Slot] | None = None  # DEP
    settings: dict[str, Any] = field(default_factory=dict)  # small scalars: retriever, truncation, ablate, ...

    def review_ids(self) -> set[str]:
        """History reviews this output used (to keep them on the page whatever the history cap)."""
        ids = {rid for rid, _ in self.retrieved or []}
        ids |= {it.review_id for it in self.dpl_items or []}
        ids |= {s.review_id for s in self.slots or [] if s.review_id}
        return ids


@dataclass
class Output:
    """One run's output on one example."""

    status: str  # ok | empty | error | missing
    prediction: str = ""
    raw: str | None = None  # only where it differs from the prediction
    error: str | None = None
    finish_reason: str | None = None
    latency_s: float | None = None
    health: list[str] = field(default_factory=list)  # output-health flags (dpbench.metrics.health)
    metrics: dict[str, float | None] = field(default_factory=dict)
    trace: Trace = field(default_factory=Trace)


@dataclass
class RunView:
    run_id: str
    method: str
    model: str
    backend: str
    split: str
    benchmark: str
    fingerprint: str
    variant: str
    manifest: dict[str, Any]
    example_ids: list[str]
    outputs: dict[str, Output]
    scored: bool = False
    summary: dict[str, float | None] = field(default_factory=dict)  # scores.json metric values
    health: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    is_baseline: bool = False
    baseline_run_id: str | None = None
    run_dir: str = ""  # the first directory of the run (shards: each holds the same merged scores)

    @property
    def label(self) -> str:
        from dpbench.leaderboard.text import row_label

        return row_label(self)  # the one readable label per run, as on the leaderboard


@dataclass
class ViewData:
    runs: list[RunView]
    examples: dict[str, ExampleView]
    reviews: dict[str, ReviewText]
    items: dict[str, ItemText]
    metrics: list[str]  # per-example metric columns, registry order
    baseline: str | None = None
    problems: list[str] = field(default_factory=list)  # runs left out, with the reason
    warnings: list[str] = field(default_factory=list)
