"""The `dpbench` command: thin Typer wrappers that parse flags and call one library function each.

Each command lives in its own module under dpbench/cli/; heavy imports happen inside the commands
so `dpbench --help` is instant.
"""

from __future__ import annotations

import sys

from dpbench.cli.app import app
from dpbench.errors import DpbenchError


def _register() -> None:
    from dpbench.cli import (  # noqa: F401
        cache_cmd,
        data_cmds,
        doctor_cmd,
        experiment_cmd,
        quickstart_cmd,
        run_cmd,
        score_cmd,
        serve_cmd,
        view_cmd,
    )


def main() -> None:
    _register()
    try:
        app()
    except DpbenchError as e:
        from rich.console import Console
        from rich.markup import escape

        from dpbench.llm.redact import redact

        Console(stderr=True).print(f"[bold red]error:[/] {escape(redact(str(e)))}", highlight=False)
        sys.exit(e.exit_code)


_register()
