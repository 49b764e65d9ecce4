"""dpbench: a benchmark and runner for personalized review generation (DPL, DEP and baselines)."""

__version__ = "0.1.0"
