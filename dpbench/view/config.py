"""ViewConfig: everything `dpbench view` was asked to do, resolved once (CLI flags > defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

VIEW_FILE = "view.html"


@dataclass(frozen=True)
class Caps:
    """How much of each text the page embeds (characters; a cut text says how much it left out).

    The file must open fast and stay small on a real benchmark (5 runs × 2,000 examples, users with
    hundreds of past reviews), so the page carries the newest `history` entries of each user (plus
    every entry a method used) and the texts below at most these lengths."""

    history: int = 20  # history entries per example, newest first (entries a method used are always kept)
    review: int = 600  # a history review or a peer review
    item_description: int = 240  # a history item's description
    target_description: int = 1200  # the target item's description
    reference: int = 4000
    prediction: int = 4000
    raw: int = 800  # the raw model output, kept only where it differs from the prediction
    difference: int = 1000  # DPL's per-item difference texts
    summary: int = 2000  # DPL's summary, PAG's profile

    def scaled(self, f: float) -> Caps:
        """Every cap times f (never under 80 characters, never under 4 history entries)."""
        kw: dict[str, Any] = {k: max(80, int(getattr(self, k) * f)) for k in self.__dataclass_fields__}
        kw["history"] = max(4, int(self.history * f))
        return Caps(**kw)


# Tried in order until the page fits `max_bytes`; the page states the caps it used.
CAP_LEVELS = (1.0, 0.6, 0.4, 0.25, 0.15)


@dataclass(frozen=True)
class ViewConfig:
    baseline: str | None = None  # method whose runs the others are compared with (Δ per example)
    default_baseline: str | None = "nonpersonal"  # used when `baseline` is None and such a run is present
    data: Path | None = None  # overrides manifest.data_path
    out: Path | None = None  # the HTML file (None = view.html beside the leaderboard)
    caps: Caps = field(default_factory=Caps)
    max_bytes: int = 20_000_000  # the page shrinks its caps (CAP_LEVELS) until it fits

    def with_(self, **changes: Any) -> ViewConfig:
        return replace(self, **changes)
