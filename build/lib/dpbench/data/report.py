"""The build report: rows in/out per step, counts per split, peers, rejects by reason, sources.

Written as build_report.json beside the database and printed as rich tables by the CLI.
"""

from __future__ import annotations

import json
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
    exports: dict[str, str] = field(default_factory=dict)

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
        t = Table(title="leak-free peers per example (all history items)", title_justify="left")
        for col in ("min", "p25", "median", "p75", "max", "mean", "items with >=1 peer", "with >=4", "none"):
            t.add_column(col, justify="right")
        t.add_row(*(str(p.get(k, "")) for k in ("min", "p25", "median", "p75", "max", "mean",
                                                 "mean_items_with_peers", "mean_items_with_4_peers",
                                                 "examples_without_peers")))
        console.print(t)

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
