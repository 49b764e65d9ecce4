"""The terminal leaderboard stays readable at 80 columns (runs become columns, CIs ± half-width)."""

from __future__ import annotations

from rich.console import Console

from dpbench.leaderboard import print_leaderboard
from dpbench.score import score_runs
from tests.score.helpers import make_paired_outputs
from tests.score.test_score_runs import FAST


def render(board, width: int) -> str:
    console = Console(width=width, record=True, force_terminal=False)
    print_leaderboard(board, console)
    return console.export_text()


def test_narrow_terminal_transposes_and_wide_terminal_lists_runs(tmp_path):
    out = make_paired_outputs(tmp_path)
    board = score_runs([out], FAST.with_(baseline="nonpersonal", write_files=False))
    rag_r1 = board.groups[0].rows[1].cells["rouge1"]
    narrow = render(board, 80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "…" not in narrow  # nothing truncated
    half = (rag_r1.ci_high - rag_r1.ci_low) / 2
    assert f"{rag_r1.value:.4f}**" in narrow and f"±{half:.4f}" in narrow
    assert "[lo, hi]" in narrow  # the legend survives rich markup
    wide = render(board, 200)
    assert f"{rag_r1.value:.4f}**" in wide and f"[{rag_r1.ci_low:.4f}, {rag_r1.ci_high:.4f}]" in wide
