"""The score stage: run directories → scores.json + example_scores.jsonl per run, and the leaderboard.

    load.py     find runs, merge shards, align predictions with references by example id
    scoring.py  metrics with CIs, paired tests against the baseline, per-run files

Library entry point: `score_runs(paths, ScoreConfig) -> Leaderboard`.
"""

from __future__ import annotations


def score_runs(paths, cfg=None, console=None):
    from dpbench.score.scoring import score_runs as _score_runs

    return _score_runs(paths, cfg, console)
