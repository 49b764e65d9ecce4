"""The view stage: runs (+ scores + benchmark) → one self-contained HTML page to read examples by.

    config.py   ViewConfig (baseline, output file, text caps, size budget)
    model.py    the typed data the page shows
    bench.py    reads from benchmark.duckdb (examples, capped history, items, reviews)
    collect.py  runs, scores and traces → ViewData
    encode.py   ViewData → compact JSON, cut to the size budget
    page.py     the HTML around it; assets/ holds the inline CSS and JS

Library entry point: `build_view(paths, cfg)`; `dpbench view` is its CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dpbench.view.config import VIEW_FILE, Caps, ViewConfig


@dataclass
class ViewResult:
    path: Path
    n_bytes: int
    n_examples: int
    n_runs: int
    caps: Caps
    level: int  # index into config.CAP_LEVELS: 0 = the configured caps, more = cut further to fit
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def view_path(paths: list[Path], cfg: ViewConfig, run_dirs: list[Path]) -> Path:
    """--out, else view.html beside the leaderboard: the folder scanned, or the runs' parent folder."""
    if cfg.out is not None:
        out = Path(cfg.out)
        return out / VIEW_FILE if out.is_dir() else out
    if len(paths) == 1 and Path(paths[0]).is_dir() and not (Path(paths[0]) / "manifest.json").exists():
        return Path(paths[0]) / VIEW_FILE
    return (run_dirs[0].parent if run_dirs else Path("outputs")) / VIEW_FILE


def build_view(paths: list[Path], cfg: ViewConfig | None = None) -> ViewResult:
    from dpbench.run.store import write_atomic
    from dpbench.view.collect import collect_view
    from dpbench.view.encode import fit
    from dpbench.view.page import page_overhead, page_title, render_page

    cfg = cfg or ViewConfig()
    data = collect_view(paths, cfg)
    payload, caps, level = fit(data, cfg.caps, cfg.max_bytes, page_overhead())
    html = render_page(payload, page_title(data))
    out = view_path(paths, cfg, [Path(r.run_dir) for r in data.runs])
    write_atomic(out, html)
    out.chmod(0o644)  # a page to open and share, not a private temp file
    warnings = list(data.warnings)
    if level:
        warnings.append(f"texts cut further to keep the page under {cfg.max_bytes / 1e6:.0f} MB "
                        f"(history {caps.history} entries; characters: reviews {caps.review}, peers {caps.peer}, "
                        f"predictions {caps.prediction}, differences {caps.difference})")
    return ViewResult(out, len(html.encode("utf-8")), len(data.examples), len(data.runs), caps, level, warnings,
                      data.problems)


__all__ = ["Caps", "ViewConfig", "ViewResult", "build_view"]
