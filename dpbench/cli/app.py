"""The Typer application every command module registers on (kept apart from cli/__init__.py, which
imports the command modules, so that no import goes in a circle)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="dpbench",
    help=(
        "Personalized review generation on Amazon reviews: build the benchmark (build-data), run "
        "methods (run: nonpersonal, rag, pag, dpl, dep), score them (score), look at them (view). Start "
        "with `dpbench quickstart`, which does everything offline on an embedded sample."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
