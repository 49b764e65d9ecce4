"""The `dpbench` command: thin Typer wrappers that parse flags and call one library function each.

Each command lives in its own module under dpbench/cli/; heavy imports happen inside the commands
so `dpbench --help` is instant.
"""

from __future__ import annotations

import sys

import typer

from dpbench.errors import DpbenchError

app = typer.Typer(
    name="dpbench",
    help=(
        "Personalized review generation on Amazon reviews: build the benchmark (build-data), run "
        "methods (run: nonpersonal, rag, pag, dpl, dep), score them (score). Start with "
        "`dpbench quickstart`, which does everything offline on an embedded sample."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _register() -> None:
    from dpbench.cli import data_cmds, doctor_cmd, quickstart_cmd, run_cmd, score_cmd, serve_cmd  # noqa: F401


def main() -> None:
    _register()
    try:
        app()
    except DpbenchError as e:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(e))}", highlight=False)
        sys.exit(e.exit_code)


_register()
