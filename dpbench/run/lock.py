"""An exclusive lock on a run directory, so two processes never run (and pay for) the same examples.

An OS file lock (`flock` on RUN/.lock) rather than a lock file's existence: the kernel releases it
when the holder dies, kill -9 included, so a crashed run never leaves a stale lock behind. The file
itself holds who took it (pid, host, time), for the message a second process prints.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import socket
import time
from pathlib import Path

from dpbench.errors import DpbenchError

LOCK_FILE = ".lock"


class RunLocked(DpbenchError):
    """Another live process holds the run directory."""


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def holder_info() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "started_at": now_iso()}


def describe_holder(path: Path) -> str:
    try:
        info = json.loads((path / LOCK_FILE).read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    return f"pid {info.get('pid')} on {info.get('host')} (since {info.get('started_at')})"


class RunLock:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: bool = False, poll_s: float = 0.5) -> None:
        """Take the lock; with `wait`, block until the holder finishes, else raise RunLocked."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    os.close(fd)
                    raise RunLocked(
                        f"{self.path} is in use by {describe_holder(self.path)}, which is running this run now; "
                        "wait for it to finish (or pass --wait), or pass another --run-id") from None
                if not told:
                    told = True
                    print(f"waiting for {describe_holder(self.path)} to release {self.path} ...", flush=True)
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder_info()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None


def is_held(run_dir: Path) -> bool:
    """Whether a live process (this one included) holds the run directory's lock."""
    p = Path(run_dir) / LOCK_FILE
    if not p.exists():
        return False
    fd = os.open(p, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also drops the shared lock we may have taken
    return False
