"""Published numbers beside ours (`dpbench score --reference dep-2025`): reference rows read from
published.toml, shown only for categories the benchmark holds, marked as not re-run here and never
used in a significance test."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from dpbench.errors import DpbenchError

DATA_FILE = Path(__file__).with_name("published.toml")
NOTE = "published — not re-run here; their peers include reviews written after the target"


@dataclass(frozen=True)
class ReferenceRow:
    reference: str  # e.g. "dep-2025"
    source: str
    model: str
    method: str
    category: str
    values: dict[str, float] = field(default_factory=dict)  # metric name (dpbench.metrics.SPECS) -> value
    note: str = NOTE


def reference_names() -> list[str]:
    return list(tomllib.loads(DATA_FILE.read_text(encoding="utf-8")))


def load_references(names: list[str] | tuple[str, ...], categories: set[str] | None = None) -> list[ReferenceRow]:
    """Rows of the named references, restricted to `categories` (None = all)."""
    table = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    out = []
    for name in names:
        if name not in table:
            raise DpbenchError(f"--reference {name!r}: choose from {', '.join(table)}")
        ref = table[name]
        for row in ref["rows"]:
            if categories is not None and row["category"] not in categories:
                continue
            values = {k: float(v) for k, v in row.items() if k not in ("method", "category")}
            out.append(ReferenceRow(name, ref["source"], ref["model"], row["method"], row["category"], values))
    return out
