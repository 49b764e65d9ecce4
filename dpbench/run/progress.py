"""Progress of long work (runs, DEP training, scoring) that reaches the user wherever output goes.

On a terminal: a rich progress bar. Anywhere else (a batch job, `nohup`, CI, a pipe): a plain line
every `every_s` seconds or every ~5% of the work, and one at the end — never a silent run that
prints a cut bar when it is done.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Self

from rich.console import Console

from dpbench.schema import RunSpec, Usage

LOG_EVERY_S = 30.0


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Ticker:
    """Counts done/total and says so: a bar on a terminal, a log line every `every_s` elsewhere."""

    def __init__(self, console: Console | None, label: str, total: int, done: int = 0,
                 every_s: float = LOG_EVERY_S, every_n: int | None = None, elapsed_s: float = 0.0):
        """`elapsed_s`: time already spent on the `done` part of this session (for the rate)."""
        self.console = console or Console(stderr=True)
        self.label, self.total, self.done = label, total, done
        self.start_done, self.t0 = done, time.monotonic() - elapsed_s
        self.every_s = every_s
        self.every_n = every_n or max(1, total // 20)
        self.interactive = self.console.is_terminal
        self._last_log_t, self._last_log_n = self.t0, done
        self._bar = None
        self._task = None
        self.status = ""

    def __enter__(self) -> Self:
        if self.interactive:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(), console=self.console, transient=False)
            self._task = self._bar.add_task(self.label, total=self.total, completed=self.done, stats="")
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.done != self._last_log_n:
            self.log_line()

    def rate(self) -> float:
        dt = time.monotonic() - self.t0
        return (self.done - self.start_done) / dt if dt > 0 else 0.0

    def eta_s(self) -> float | None:
        r = self.rate()
        return (self.total - self.done) / r if r > 0 else None

    def advance(self, n: int = 1, status: str = "") -> None:
        self.done += n
        self.status = status or self.status
        if self._bar is not None:
            self._bar.update(self._task, advance=n, stats=self.status)
            return
        now = time.monotonic()
        if now - self._last_log_t >= self.every_s or self.done - self._last_log_n >= self.every_n \
                or self.done >= self.total:
            self.log_line()

    def log_line(self) -> None:
        self._last_log_t, self._last_log_n = time.monotonic(), self.done
        pct = f" ({self.done / self.total:.0%})" if self.total else ""
        eta = self.eta_s()
        tail = f", {self.rate():.2f}/s" + (f", ETA {format_duration(eta)}" if eta is not None else "")
        status = f", {self.status}" if self.status else ""
        self.console.print(f"{self.label}: {self.done}/{self.total}{pct}{status}{tail}", highlight=False,
                           markup=False, soft_wrap=True)


def usage_status(usage: Usage, errors: int) -> str:
    return (f"req {usage.requests}  cached {usage.cached}  retries {usage.retries}  "
            f"tok {usage.prompt_tokens}+{usage.completion_tokens}  errors {errors}")


class RunProgress(Ticker):
    """The progress of `dpbench run`: examples, requests, cache hits, retries, tokens, errors, ETA."""

    def __init__(self, console: Console | None, total: int, done: int, label: str = "examples"):
        super().__init__(console, label, total, done)
        self.errors = 0

    def advance_example(self, usage: Usage, error: bool) -> None:
        self.errors += error
        self.advance(1, usage_status(usage, self.errors))

    def report_finished(self, run_dir: Path, spec: RunSpec) -> None:
        u = spec.usage
        self.console.print(
            f"{spec.method}: {spec.n_done}/{spec.n_expected} examples done, {spec.n_errors} errors, "
            f"{u.requests} requests ({u.cached} cached, {u.retries} retries), "
            f"{u.prompt_tokens}+{u.completion_tokens} tokens; status {spec.status}\n"
            f"predictions: {run_dir / 'predictions.jsonl'}", highlight=False, markup=False,
        )
