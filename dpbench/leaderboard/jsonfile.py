"""leaderboard.json: the whole board model (groups, rows, cells, settings, metric specs)."""

from __future__ import annotations

import json

from dpbench.leaderboard.board import Leaderboard


def render(board: Leaderboard) -> str:
    return json.dumps(board.to_dict(), indent=2, default=str)
