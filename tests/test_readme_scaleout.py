"""The README's scale-out block, run exactly as printed, line by line, in a fresh folder: two llama.cpp
servers on loopback as a pool, a run sharded over two "machines", DEP trained by two torchrun
processes, and `score` merging it all. A user types the same lines (background servers with `&`)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MARKER = "<!-- scale-out block: tests/test_readme_scaleout.py runs it as printed -->"


def readme_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    assert MARKER in text, "the README lost its scale-out block"
    block = text.split(MARKER, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines, cur = [], ""
    for raw in block.splitlines():
        line = raw.split("  #", 1)[0].rstrip()  # trailing comments are for readers
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        if (cur + line).strip():
            lines.append((cur + line).strip())
        cur = ""
    return lines


def test_the_block_holds_the_scale_out_commands():
    lines = readme_block()
    assert sum(ln.startswith("dpbench serve") and ln.endswith("&") for ln in lines) == 2
    assert any(ln.count("--base-url") == 2 for ln in lines)
    assert [ln for ln in lines if "--shard" in ln] and any(ln.startswith("torchrun ") for ln in lines)


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        assert proc.poll() is None, f"server on {port} exited: {proc.stdout.read()[-2000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"server on {port} not ready after {timeout} s")


@pytest.mark.slow
@pytest.mark.timeout(2400)  # several commands in a row, each bounded below; CI machines vary 2x
def test_readme_scale_out_block_runs_as_printed(tmp_path):
    # a fresh machine: empty caches, so every request below reaches a server
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "200",
           "DPBENCH_CACHE_DIR": str(tmp_path / "cache")}
    servers: list[subprocess.Popen] = []
    logs: dict[str, str] = {}
    try:
        for line in readme_block():
            if line.endswith("&"):  # a server in the background, as the user's shell would start it
                argv = shlex.split(line[:-1])
                servers.append(subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, text=True))
                wait_ready(int(argv[argv.index("--port") + 1]), servers[-1])
                continue
            t0 = time.perf_counter()
            proc = subprocess.run(shlex.split(line), cwd=tmp_path, env=env, capture_output=True, text=True,
                                  timeout=900)
            print(f"{time.perf_counter() - t0:6.1f} s  {line}")  # shown with -s: what each command costs
            assert proc.returncode == 0, f"{line}\n{(proc.stdout + proc.stderr)[-4000:]}"
            logs[line] = proc.stdout + proc.stderr
    finally:
        for s in servers:
            s.terminate()
            s.wait(timeout=30)
    out = tmp_path / "outputs"
    manifests = {d.name: json.loads((d / "manifest.json").read_text()) for d in out.iterdir() if d.is_dir()}

    # the pool: one run, every example done, both servers answered requests
    pool = next(m for m in manifests.values() if m["method"] == "rag")
    assert pool["status"] == "complete" and pool["n_done"] == pool["n_expected"]
    served = pool["usage"]["by_server"]
    assert set(served) == {"http://127.0.0.1:8101/v1", "http://127.0.0.1:8102/v1"} and min(served.values()) > 0, served
    assert sum(served.values()) == pool["usage"]["requests"]

    # the shards: two directories of one run id, disjoint halves, merged into one leaderboard row
    shards = {n: m for n, m in manifests.items() if m["method"] == "nonpersonal"}
    assert len(shards) == 2 and len({m["run_id"] for m in shards.values()}) == 1
    ids = [set((out / n / "example_ids.txt").read_text().split()) for n in shards]
    assert not ids[0] & ids[1] and len(ids[0] | ids[1]) == 4

    # DEP under torchrun: both ranks hold the same parameters, rank 0 alone wrote the run
    torch_line = next(ln for ln in logs if ln.startswith("torchrun "))
    sums = dict(re.findall(r"rank (\d)/2: trained module parameters sha256 ([0-9a-f]{16})", logs[torch_line]))
    assert set(sums) == {"0", "1"} and sums["0"] == sums["1"]
    dep_dirs = [n for n, m in manifests.items() if m["method"] == "dep"]
    assert len(dep_dirs) == 1
    dep = manifests[dep_dirs[0]]
    assert dep["status"] == "complete" and dep["dep"]["world_size"] == 2 and dep["dep"]["param_checksum"] == sums["0"]
    train_rows = [json.loads(x) for x in (out / dep_dirs[0] / "train_log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in train_rows if r["kind"] == "train"]
    assert steps and steps == list(range(1, len(steps) + 1))  # rank 0 alone logs: no step twice

    # score: one row per run, the shards merged (n = 4), nothing missing
    board = json.loads((out / "leaderboard.json").read_text())
    rows = {r["method"]: r for g in board["groups"] for r in g["rows"]}
    assert set(rows) == {"nonpersonal", "rag", "dep"}
    assert (rows["nonpersonal"]["n_scored"], rows["rag"]["n_scored"], rows["dep"]["n_scored"]) == (4, 8, 2)
    assert all(r["n_expected"] == r["n_scored"] for r in rows.values())
