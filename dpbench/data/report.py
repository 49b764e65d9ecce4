"""The build report: rows in/out per step, counts per split, peers, rejects by reason, metadata
repairs, warnings, sources and per-phase timings.

Written as build_report.json beside the database and printed as rich tables by the CLI.
"""

from __future__ import annotations

import json
import resource
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class BuildReport:
    recipe: str
    recipe_hash: str
    out: str
    database: str = ""
    database_bytes: int = 0
    fingerprint: str = ""
    seconds: float = 0.0
    files: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    loops: dict[str, int] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    peers: dict[str, Any] = field(default_factory=dict)
    rejects: dict[str, dict] = field(default_factory=dict)
    repairs: dict[str, dict] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    exports: dict[str, str] = field(default_factory=dict)
    timings: dict[str, dict] = field(default_factory=dict)

    def add_step(self, step: dict) -> None:
        self.steps.append(step)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> BuildReport:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))

    def summary_line(self) -> str:
        c = self.counts
        s = c.get("examples_by_split", {})
        return (f"{c.get('users', 0)} users, {c.get('items', 0)} items, {c.get('reviews', 0)} reviews; examples "
                f"train {s.get('train', 0)} / val {s.get('val', 0)} / test {s.get('test', 0)}; "
                f"fingerprint {self.fingerprint}")


class PhaseTimer:
    """Wall and CPU seconds (this process, all threads) per named phase of a build."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.phases: dict[str, dict] = {}

    @staticmethod
    def cpu() -> float:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    @contextmanager
    def phase(self, name: str):
        w, c = time.perf_counter(), self.cpu()
        try:
            yield
        finally:
            entry = self.phases.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0})
            entry["wall_s"] = round(entry["wall_s"] + time.perf_counter() - w, 3)
            entry["cpu_s"] = round(entry["cpu_s"] + self.cpu() - c, 3)

    def total(self) -> float:
        return time.perf_counter() - self.t0

    def as_dict(self) -> dict[str, dict]:
        return {**self.phases, "total": {"wall_s": round(self.total(), 3), "cpu_s": round(self.cpu(), 3)}}


PEER_LABELS = {  # build_report.json key -> what the number is
    "examples": "examples",
    "min": "leak-free peer reviews per example, over all its history items: min",
    "p25": "  … 25th percentile",
    "median": "  … median",
    "p75": "  … 75th percentile",
    "max": "  … max",
    "mean": "  … mean",
    "mean_history_len": "history items per example (mean)",
    "mean_items_with_peers": "history items with ≥ 1 peer, per example (mean)",
    "mean_items_with_4_peers": "history items with ≥ 4 peers, per example (mean)",
    "examples_without_peers": "examples with no history item that has a peer",
    "examples_with_empty_history": "examples with an empty history",
}
WARNING_LABELS = {
    "examples_with_empty_history": "examples with an empty history",
    "examples_without_peer_covered_history": "examples with no history item that has a leak-free peer",
    "targets_tied_with_another_review": "targets at the same time as another review of their user",
}


def print_timings(report: BuildReport, console) -> None:
    from rich.table import Table

    t = Table(title="timings per phase (CPU = this process, all threads)", title_justify="left")
    for col in ("phase", "wall s", "CPU s"):
        t.add_column(col, justify="left" if col == "phase" else "right")
    for name, v in report.timings.items():
        t.add_row(name, f"{v['wall_s']:.2f}", f"{v['cpu_s']:.2f}")
    console.print(t)


def print_report(report: BuildReport, console) -> None:
    """Rich tables: sources, steps, splits, peers, rejects."""
    from rich.table import Table

    t = Table(title="sources", title_justify="left")
    for col in ("file", "kind", "category", "schema", "lines", "sha256"):
        t.add_column(col, justify="right" if col == "lines" else "left")
    for f in report.files:
        t.add_row(f["name"], f["kind"], f["category"], f["schema"], f"{f['lines']:,}", f["sha256"][:12])
    console.print(t)

    t = Table(title=f"pipeline (recipe {report.recipe})", title_justify="left")
    for col in ("step", "rows", "users", "items"):
        t.add_column(col, justify="left" if col == "step" else "right")
    for s in report.steps:
        t.add_row(s["step"], *(f"{s[k]:,}" if s.get(k) is not None else "" for k in ("rows", "users", "items")))
    console.print(t)

    c = report.counts
    t = Table(title="benchmark", title_justify="left")
    t.add_column("what")
    t.add_column("count", justify="right")
    for k in ("users", "items", "reviews", "history"):
        t.add_row(k, f"{c.get(k, 0):,}")
    for split, n in c.get("examples_by_split", {}).items():
        t.add_row(f"examples ({split})", f"{n:,}")
    for cat, v in c.get("by_category", {}).items():
        t.add_row(f"{cat}: users / items / reviews", f"{v['users']:,} / {v['items']:,} / {v['reviews']:,}")
    console.print(t)

    p = report.peers
    if p:
        t = Table(title="leak-free peers (peer_ts < target_ts)", title_justify="left")
        t.add_column("statistic")
        t.add_column("value", justify="right")
        for key, label in PEER_LABELS.items():
            if key in p:
                t.add_row(label, f"{p[key]:,}" if isinstance(p[key], int) else str(p[key]))
        console.print(t)

    if report.repairs:
        t = Table(title="metadata repairs (rows changed, per file)", title_justify="left")
        for col in ("repair", "count", "per file", "first examples (file:line)"):
            t.add_column(col, justify="right" if col == "count" else "left")
        for kind, v in report.repairs.items():
            t.add_row(kind, f"{v['count']:,}", ", ".join(f"{k}: {n:,}" for k, n in v["files"].items()),
                      ", ".join(v["examples"][:3]))
        console.print(t)

    for key, n in report.warnings.items():
        if n:
            console.print(f"[yellow]warning:[/] {n:,} {WARNING_LABELS.get(key, key)} ({key})")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")

    if report.rejects:
        t = Table(title="rejected lines (skipped)", title_justify="left")
        t.add_column("reason")
        t.add_column("count", justify="right")
        t.add_column("first examples (file:line)")
        for reason, v in report.rejects.items():
            t.add_row(reason, f"{v['count']:,}", ", ".join(v["examples"][:3]))
        console.print(t)
    console.print(f"[bold green]built[/] {report.database} ({report.database_bytes / 1e6:.1f} MB) in "
                  f"{report.seconds:.1f} s — {report.summary_line()}")
    for fmt, path in report.exports.items():
        console.print(f"exported {fmt}: {path}")
