"""ViewConfig: everything `dpbench view` was asked to do, resolved once (CLI flags > defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

VIEW_FILE = "view.html"


@dataclass(frozen=True)
class Caps:
    """How much of each text the page embeds (characters; a cut text ends in "…").

    The file must open fast and stay small on a real benchmark (5 runs × 2,000 examples, users with
    hundreds of past reviews, DPL's 8 items × 4 peers), so the page carries the newest `history`
    entries of each user (plus every entry a method used) and each text up to its cap."""

    history: int = 20  # history entries per example, newest first (entries a method used are always kept)
    review: int = 600  # a history review
    peer: int = 400  # a peer's review (DPL's representative peers)
    title: int = 200  # review titles, item titles
    item_description: int = 240  # a history item's description
    target_description: int = 1200  # the target item's description
    reference: int = 4000
    prediction: int = 4000
    raw: int = 800  # the raw model output, kept only where it differs from the prediction
    difference: int = 1000  # DPL's per-item difference texts
    summary: int = 2000  # DPL's summary, PAG's profile

    def scaled(self, peer: float, context: float, intermediate: float, output: float, history: float) -> Caps:
        """Each group of caps times its factor: peer texts; context (history reviews, titles, item
        descriptions); intermediates (differences, summaries, raw outputs); outputs (predictions and the
        reference); history entries. Floors: 40 characters, 4 entries (peers may go to 0: dates and ratings only)."""
        groups = {"peer": peer, "review": context, "title": context, "item_description": context,
                  "target_description": context, "difference": intermediate, "summary": intermediate,
                  "raw": intermediate, "reference": output, "prediction": output}
        def times(k: str, f: float, floor: int) -> int:
            cap = getattr(self, k)
            return max(min(floor, cap), int(cap * f))

        kw: dict[str, Any] = {k: times(k, f, 40) for k, f in groups.items()}
        kw["peer"] = times("peer", peer, 40) if peer else 0
        return Caps(history=times("history", history, 4), **kw)


# Factors (peer, context, intermediate, output, history) tried in order until the page fits `max_bytes`:
# peers shrink first, then the context, last the outputs a reader compares with the reference. On a
# paper-sized benchmark (5 runs × 2,000 examples, DPL's 8 items × 4 peers) the last levels are the ones
# that fit 20 MB; `--limit` shows fewer examples with longer texts. The page states the caps it used.
CAP_LEVELS = (
    (1.0, 1.0, 1.0, 1.0, 1.0),
    (0.5, 0.6, 0.8, 0.8, 0.75),
    (0.3, 0.4, 0.6, 0.5, 0.6),
    (0.15, 0.25, 0.4, 0.3, 0.5),
    (0.1, 0.15, 0.25, 0.2, 0.4),
    (0.1, 0.1, 0.15, 0.15, 0.3),
    (0.0, 0.1, 0.15, 0.15, 0.3),
    (0.0, 0.07, 0.1, 0.1, 0.2),
)


@dataclass(frozen=True)
class ViewConfig:
    baseline: str | None = None  # method whose runs the others are compared with (Δ per example)
    default_baseline: str | None = "nonpersonal"  # used when `baseline` is None and such a run is present
    data: Path | None = None  # overrides manifest.data_path
    out: Path | None = None  # the HTML file (None = view.html beside the leaderboard)
    limit: int | None = None  # only the first N examples (by example id): fewer examples, longer texts
    caps: Caps = field(default_factory=Caps)
    max_bytes: int = 24_000_000  # the page shrinks its caps (CAP_LEVELS) until it fits (under 25 MB)

    def with_(self, **changes: Any) -> ViewConfig:
        return replace(self, **changes)
