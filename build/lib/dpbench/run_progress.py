"""The progress bar of `dpbench run`: examples done, requests, cached, retries, tokens, errors, ETA."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dpbench.schema import RunSpec


class RunProgress:
    def __init__(self, console: Console | None, total: int, done: int):
        self.console = console or Console(stderr=True)
        self.errors = 0
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=False,
        )
        self._task = self._progress.add_task("examples", total=total, completed=done, stats="")

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def advance(self, stats, error: bool) -> None:
        """stats: dpbench.llm.client.LLMStats of this session."""
        self.errors += error
        text = (f"req {stats.requests}  cached {stats.cached}  retries {stats.retries}  "
                f"tok {stats.prompt_tokens}+{stats.completion_tokens}  errors {self.errors}")
        self._progress.update(self._task, advance=1, stats=text)

    def report_finished(self, run_dir: Path, spec: RunSpec) -> None:
        u = spec.usage
        self.console.print(
            f"{spec.method}: {spec.n_done}/{spec.n_expected} examples done, {spec.n_errors} errors, "
            f"{u.requests} requests ({u.cached} cached, {u.retries} retries), "
            f"{u.prompt_tokens}+{u.completion_tokens} tokens; status {spec.status}\n"
            f"predictions: {run_dir / 'predictions.jsonl'}", highlight=False, markup=False,
        )
