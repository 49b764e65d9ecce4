"""The leaderboard stage: scores → outputs/leaderboard.{md,csv,json,html,tex} and the terminal table.

    board.py     the model (groups, rows, cells) built from scored runs
    text.py      number and label formatting shared by the formats
    md.py, csvfile.py, jsonfile.py, html.py, latex.py   one renderer per format: render(board) -> str
    terminal.py  rich tables for the console

FORMATS maps a format name (`--format`) to its renderer; files are written atomically, all formats
of one scoring together.
"""

from __future__ import annotations

from pathlib import Path

from dpbench.leaderboard.board import Cell, Group, Leaderboard, Row, build_leaderboard
from dpbench.registry import Registry

FORMATS: Registry = Registry("leaderboard format", {
    "md": "dpbench.leaderboard.md:render",
    "csv": "dpbench.leaderboard.csvfile:render",
    "json": "dpbench.leaderboard.jsonfile:render",
    "html": "dpbench.leaderboard.html:render",
    "latex": "dpbench.leaderboard.latex:render",
})
EXTENSIONS = {"latex": "tex"}


def render(board: Leaderboard, fmt: str) -> str:
    return FORMATS.get(fmt)(board)


def write_leaderboard(board: Leaderboard, out_dir: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    """leaderboard.<ext> for each format, replaced together (a kill leaves the old set or the new one)."""
    from dpbench.run.store import replace_atomic

    out_dir = Path(out_dir)
    files = {fmt: out_dir / f"leaderboard.{EXTENSIONS.get(fmt, fmt)}" for fmt in formats}
    replace_atomic({path: render(board, fmt) for fmt, path in files.items()})
    return files


def print_leaderboard(board: Leaderboard, console) -> None:
    from dpbench.leaderboard.terminal import print_leaderboard as _print

    _print(board, console)


__all__ = ["FORMATS", "Cell", "Group", "Leaderboard", "Row", "build_leaderboard", "print_leaderboard", "render",
           "write_leaderboard"]
