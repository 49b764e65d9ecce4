"""CLI command(s): placeholder until implemented."""

from dpbench.cli import app  # noqa: F401
