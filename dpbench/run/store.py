"""The run store: the one module that writes a run directory, for every method.

    outputs/<run_id>[.shardIofN]/
        manifest.json       RunSpec (dpbench.schema), rewritten atomically as the run goes
        example_ids.txt     the ids this run covers, in order
        predictions.jsonl   one PredictionRecord per finished example, appended, flushed, fsynced
        .lock               held (flock) by the process running it
        scores.json, example_scores.jsonl   written by `dpbench score` through `write_files`
        checkpoints/, train_log.jsonl, ...  DEP's training output

The life of a run, the same for every method: `RunStore.open` takes the lock and repairs a line cut
by a kill; `begin` refuses a directory that holds another run, drops the lines of failed examples (so
the rerun retries them), carries the usage already spent and says which ids are left; `append` adds
one line per example; `heartbeat` keeps the manifest current; `finish` sets the final status and
releases the lock. A reader that finds `running` without a lock holder reports `interrupted`.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.run.identity import differences
from dpbench.run.lock import RunLock, is_held
from dpbench.run.provenance import now_iso
from dpbench.schema import Holder, PredictionRecord, RunSpec, RunStatus, Usage, migrate_manifest, migrate_prediction

PREDICTIONS = "predictions.jsonl"
MANIFEST = "manifest.json"
EXAMPLE_IDS = "example_ids.txt"


def write_atomic(path: Path, text: str) -> None:
    """Write to a uniquely named temp file beside `path`, fsync, rename: readers see old or new, never half."""
    replace_atomic({Path(path): text})


def replace_atomic(files: dict[Path, str]) -> None:
    """Every file's new text is written and synced before the first rename, so a kill leaves either
    all old files, or new ones that are each complete (never a truncated one)."""
    temps: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            temps.append((tmp, path))
        for tmp, path in temps:
            os.replace(tmp, path)
        temps = []
    finally:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)


@dataclass
class LineCounts:
    ok: int
    errors: int
    first_errors: list[str]


def read_manifest(run_dir: Path) -> RunSpec:
    p = Path(run_dir) / MANIFEST
    if not p.exists():
        raise DpbenchError(f"{run_dir}: no {MANIFEST} (not a dpbench run directory)")
    try:
        import json

        return RunSpec.model_validate(migrate_manifest(json.loads(p.read_text(encoding="utf-8"))))
    except ValueError as e:
        raise DpbenchError(f"{p}: invalid manifest: {str(e).strip()[:600]}") from None


def effective_status(run_dir: Path, spec: RunSpec) -> RunStatus:
    """`running` only while a process holds the lock; a run left `running` by a killed process is `interrupted`."""
    if spec.status == "running" and not is_held(run_dir):
        return "interrupted"
    return spec.status


def read_example_ids(run_dir: Path) -> list[str] | None:
    p = Path(run_dir) / EXAMPLE_IDS
    return p.read_text().split() if p.exists() else None


def iter_predictions(run_dir: Path) -> Iterator[tuple[int, PredictionRecord | None, str | None]]:
    """(line number, record, None) per readable line, (line number, None, "file:line: reason") per other line.
    The one reader of predictions.jsonl (the run loop's resume and `score` both use it)."""
    import json

    p = Path(run_dir) / PREDICTIONS
    if not p.exists():
        return
    with open(p, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield lineno, PredictionRecord.model_validate(migrate_prediction(json.loads(line))), None
            except ValueError as e:
                yield lineno, None, f"{p}:{lineno}: malformed line ({str(e).splitlines()[0][:160]})"


def count_lines(run_dir: Path, ids: list[str]) -> LineCounts:
    """Examples among `ids` done without error, failed (and not also done), first error messages."""
    want, ok, errs, msgs = set(ids), set(), set(), []
    for _, rec, _ in iter_predictions(run_dir):
        if rec is None or rec.example_id not in want:
            continue
        if rec.error is None:
            ok.add(rec.example_id)
        else:
            errs.add(rec.example_id)
            if len(msgs) < 5:
                msgs.append(f"{rec.example_id}: {rec.error}")
    return LineCounts(len(ok), len(errs - ok), msgs)


class RunStore:
    """A run directory opened for writing by this process (it holds the lock until `finish`/`close`)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = RunLock(self.path)
        self.spec: RunSpec | None = None
        self.ids: list[str] = []
        self.previous_usage = Usage()

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, wait: bool = False) -> RunStore:
        store = cls(path)
        store.path.mkdir(parents=True, exist_ok=True)
        store.lock.acquire(wait=wait)
        store.repair_predictions()
        return store

    def repair_predictions(self) -> int:
        """Drop a truncated last line (a kill mid-write). Returns bytes removed."""
        p = self.path / PREDICTIONS
        if not p.exists() or p.stat().st_size == 0:
            return 0
        data = p.read_bytes()
        if data.endswith(b"\n"):
            return 0
        cut = data.rfind(b"\n") + 1
        with open(p, "r+b") as f:
            f.truncate(cut)
        return len(data) - cut

    def begin(self, spec: RunSpec, ids: list[str]) -> list[str]:
        """Start or resume `spec` over `ids`; returns the ids still to do (failed ones included)."""
        if (self.path / MANIFEST).exists():
            old = read_manifest(self.path)
            diff = differences(old.model_dump(), spec.model_dump())
            if diff:
                raise DpbenchError(f"{self.path} already holds another run: {'; '.join(diff)}. Pass another "
                                   "--run-id or --out, or delete that directory")
            old_ids = read_example_ids(self.path)
            if old_ids is not None and old_ids != ids:
                raise DpbenchError(f"{self.path}: {EXAMPLE_IDS} lists other examples than this command selects "
                                   "(a rebuilt benchmark, or another --limit/--shard?); pass another --run-id")
            spec.created_at = old.created_at or spec.created_at
            spec.dep = spec.dep or old.dep
            self.previous_usage = old.usage
        self.drop_failed_lines()
        self.spec, self.ids = spec, list(ids)
        spec.usage = self.previous_usage  # what earlier attempts spent is never lost by this write
        spec.status, spec.abort_reason = "running", None
        host, t = socket.gethostname(), now_iso()
        spec.holder = Holder(pid=os.getpid(), host=host, started_at=t, heartbeat_at=t)
        write_atomic(self.path / EXAMPLE_IDS, "".join(f"{i}\n" for i in ids))
        self.write_manifest()
        done = self.done_ids()
        return [i for i in ids if i not in done]

    # -- lines -----------------------------------------------------------------------------------
    def done_ids(self) -> set[str]:
        return {rec.example_id for _, rec, _ in iter_predictions(self.path) if rec is not None}

    def drop_failed_lines(self) -> int:
        """Remove error lines, unreadable lines and repeated ids, so a rerun retries those examples
        and every id keeps exactly one line."""
        p = self.path / PREDICTIONS
        if not p.exists():
            return 0
        keep, seen, dropped = [], set(), 0
        for _, rec, _ in iter_predictions(self.path):
            if rec is None or rec.error is not None or rec.example_id in seen:
                dropped += 1
                continue
            seen.add(rec.example_id)
            keep.append(rec.model_dump_json() + "\n")
        if dropped:
            write_atomic(p, "".join(keep))
        return dropped

    def append(self, record: PredictionRecord) -> None:
        line = record.model_dump_json() + "\n"
        with open(self.path / PREDICTIONS, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    # -- manifest --------------------------------------------------------------------------------
    def write_manifest(self) -> None:
        assert self.spec is not None
        self.spec.updated_at = now_iso()
        write_atomic(self.path / MANIFEST, self.spec.model_dump_json(indent=2))

    def heartbeat(self, session_usage: Usage) -> None:
        """Record the usage so far (earlier sessions + this one) and that the holder is alive."""
        assert self.spec is not None
        self.spec.usage = self.previous_usage.add(session_usage)
        if self.spec.holder is not None:
            self.spec.holder.heartbeat_at = now_iso()
        self.write_manifest()

    def finish(self, session_usage: Usage, aborted: BaseException | None = None) -> RunSpec:
        """Final counts and status; releases the lock. complete = every id has a line without error."""
        assert self.spec is not None
        counts = count_lines(self.path, self.ids)
        spec = self.spec
        spec.usage = self.previous_usage.add(session_usage)
        spec.n_done, spec.n_errors = counts.ok, counts.errors
        spec.status = "complete" if counts.ok == len(self.ids) and aborted is None else "incomplete"
        if aborted is not None:
            from dpbench.llm.redact import redact

            spec.abort_reason = redact(f"{type(aborted).__name__}: {aborted}")[:500]
        spec.holder = None
        self.write_manifest()
        self.close()
        return spec

    def close(self) -> None:
        self.lock.release()

    # -- files of later stages -------------------------------------------------------------------
    @staticmethod
    def write_files(run_dir: Path, files: dict[str, str]) -> None:
        """Files that later stages keep in a run directory (scores.json, ...), replaced together."""
        replace_atomic({Path(run_dir) / name: text for name, text in files.items()})
