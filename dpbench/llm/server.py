"""A thin launcher over llama.cpp's own OpenAI-compatible HTTP server (the `xllamacpp` wheel).

- `serve_forever(ServeConfig)` runs it in the foreground (`dpbench serve`) until Ctrl-C.
- `start_server(...)` runs it as a subprocess on 127.0.0.1, waits for /health and returns a
  `ServerHandle` (base_url, model alias, stop(); a context manager). Used by quickstart and tests.
Building `xllamacpp.Server(params)` starts the server on a background thread of this process;
port 0 lets llama.cpp pick a free port, which the server reports back as its listening address.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from dpbench.errors import BackendError

STARTUP_TIMEOUT_S = 180.0  # a cold 2-core machine may take a while to map the model


@dataclass(frozen=True)
class ServeConfig:
    model: str = "smollm2-135m"  # packaged alias or a .gguf path
    port: int = 8080
    parallel: int = 4  # slots = requests decoded at once
    ctx_per_slot: int = 4096  # tokens of context each slot gets (prompt + reply)
    threads: int | None = None  # None = all cores
    alias: str | None = None  # the model name clients send; default the short name
    host: str = "127.0.0.1"
    # llama.cpp keeps the KV state of past prompts in host RAM for reuse, up to this many MiB (its own
    # default is 8192: a long DPL run grows the server's RSS by gigabytes until it is full). 512 MiB
    # holds ~22k tokens of SmolLM2 prompts, more than the prompts a DPL example shares.
    cache_ram_mib: int = 512

    def served_alias(self) -> str:
        return self.alias or (self.model if not self.model.endswith(".gguf") else Path(self.model).stem)


def build_params(cfg: ServeConfig):
    """xllamacpp.CommonParams for the config (imports the engine lazily)."""
    import xllamacpp

    from dpbench.models import gguf_path

    if cfg.parallel < 1 or cfg.ctx_per_slot < 256:
        raise BackendError(f"--parallel must be >= 1 and --ctx-per-slot >= 256 (got {cfg.parallel}, {cfg.ctx_per_slot})")
    threads = cfg.threads or os.cpu_count() or 2
    p = xllamacpp.CommonParams()
    p.model.path = str(gguf_path(cfg.model))
    p.hostnames = [cfg.host]
    p.port = cfg.port
    p.n_parallel = cfg.parallel
    p.n_ctx = cfg.ctx_per_slot * cfg.parallel  # shared by the slots
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.model_alias = {cfg.served_alias()}
    p.cache_ram_mib = cfg.cache_ram_mib
    return p


def serve_forever(cfg: ServeConfig, *, ready_file: Path | None = None, parent_pid: int | None = None) -> None:
    """Start the server and block until Ctrl-C/SIGTERM (or until `parent_pid` is gone)."""
    import xllamacpp

    params = build_params(cfg)
    try:
        server = xllamacpp.Server(params)
    except RuntimeError as e:
        raise BackendError(
            f"llama.cpp could not start on {cfg.host}:{cfg.port} with {params.model.path} ({e}); "
            "is the port already in use (try --port 0 or another port), or is the file not a GGUF model?"
        ) from None
    address = str(server.listening_address).rstrip("/")
    base_url = f"{address}/v1"
    if ready_file is not None:
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"base_url": base_url, "model": cfg.served_alias(), "pid": os.getpid()}))
        tmp.replace(ready_file)
    print(f"serving {cfg.served_alias()!r} at {base_url} ({cfg.parallel} slots x {cfg.ctx_per_slot} tokens); "
          "Ctrl-C stops it", flush=True)
    try:
        while parent_pid is None or os.getppid() == parent_pid:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # skip the engine's C++ teardown: the OS frees everything at once


@dataclass
class ServerHandle:
    base_url: str  # "http://127.0.0.1:P/v1"
    model: str  # the alias clients send as `model`
    process: subprocess.Popen
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1].split("/", 1)[0])

    def stop(self, timeout_s: float = 15.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_healthy(base_url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    health = base_url.removesuffix("/v1") + "/health"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BackendError(f"the server exited (code {proc.returncode}) before {health} answered")
        try:
            with urllib.request.urlopen(health, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise BackendError(f"{health} did not answer 200 within {timeout_s:g} s")


def start_server(model: str = "smollm2-135m", *, port: int = 0, parallel: int = 4, ctx_per_slot: int = 4096,
                 threads: int | None = None, alias: str | None = None, cache_ram_mib: int = 512) -> ServerHandle:
    """Launch `python -m dpbench.llm.server` on 127.0.0.1 and wait until it serves.

    The child exits by itself when this process dies, so a crashed test leaves no server behind.
    """
    cfg = ServeConfig(model=model, port=port, parallel=parallel, ctx_per_slot=ctx_per_slot, threads=threads,
                      alias=alias, cache_ram_mib=cache_ram_mib)
    from dpbench.models import gguf_path

    gguf_path(model)  # fail here, with the install hint, rather than in the child
    workdir = Path(tempfile.mkdtemp(prefix="dpbench-serve-"))
    ready, log_path = workdir / "ready.json", workdir / "server.log"
    cmd = [sys.executable, "-m", "dpbench.llm.server", "--model", cfg.model, "--port", str(cfg.port),
           "--parallel", str(cfg.parallel), "--ctx-per-slot", str(cfg.ctx_per_slot), "--ready-file", str(ready),
           "--parent-pid", str(os.getpid()), "--cache-ram-mib", str(cfg.cache_ram_mib)]
    if threads:
        cmd += ["--threads", str(threads)]
    if alias:
        cmd += ["--alias", alias]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            raise BackendError(f"`dpbench serve --model {model}` did not start; its log ({log_path}) ends:\n"
                               f"{log_tail(log_path)}")
        time.sleep(0.1)
    info = json.loads(ready.read_text())
    handle = ServerHandle(base_url=info["base_url"], model=info["model"], process=proc, log_path=log_path)
    try:
        wait_healthy(handle.base_url, max(5.0, deadline - time.monotonic()), proc)
    except BackendError as e:
        handle.stop()
        raise BackendError(f"{e}; log ({log_path}) ends:\n{log_tail(log_path)}") from None
    return handle


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m dpbench.llm.server", description="internal: what start_server runs")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--ctx-per-slot", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--alias", default=None)
    ap.add_argument("--ready-file", type=Path, default=None)
    ap.add_argument("--parent-pid", type=int, default=None)
    ap.add_argument("--cache-ram-mib", type=int, default=512)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    cfg = ServeConfig(model=a.model, port=a.port, parallel=a.parallel, ctx_per_slot=a.ctx_per_slot,
                      threads=a.threads, alias=a.alias, cache_ram_mib=a.cache_ram_mib)
    try:
        serve_forever(cfg, ready_file=a.ready_file, parent_pid=a.parent_pid)
    except BackendError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
