"""Run-level guarantees against the REAL llama.cpp server (packaged SmolLM2), through a fault proxy."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dpbench.errors import BackendError
from dpbench.recipes import load_recipe
from dpbench.run import run_method
from tests.helpers.fault_proxy import FaultPlan, FaultProxy
from tests.run.conftest import read_lines, read_manifest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch):
    monkeypatch.setenv("DPBENCH_RETRY_WAIT_SCALE", "0")


def short_recipe(timeout_s: float = 120, **extra):
    # generous per-request timeouts: on a busy 2-core machine one real answer can take tens of seconds
    return load_recipe("sample", {"generation.max_tokens": 12, "generation.request_timeout_s": timeout_s, **extra})


def openai_cfg(make_cfg, server, proxy, **kw):
    return make_cfg(kw.pop("method", "nonpersonal"), recipe=kw.pop("recipe", short_recipe()), backend="openai",
                    model=server.model, base_urls=(proxy.base_url,), **kw)


def test_mixed_faults_complete_once_and_count_retries(make_cfg, quiet, response_cache, llama_server):
    # 30% faults; with seed 39 the first 15 chat requests draw hang, 500, truncate, 500, truncate, 429, 429
    # (the order of arrival decides which example gets which). Timeouts stay generous: on a busy 2-core
    # machine a real answer can take tens of seconds, and a hang costs one timeout.
    plan = FaultPlan({"429": 0.1, "500": 0.1, "hang": 0.04, "truncate": 0.06}, seed=39)
    with FaultProxy(llama_server.base_url, plan) as proxy:
        recipe = short_recipe(timeout_s=60, **{"generation.max_retries": 10})
        cfg = openai_cfg(make_cfg, llama_server, proxy, run_id="faults", recipe=recipe, limit=8, concurrency=2)
        run_dir = run_method(cfg, quiet, cache=response_cache)
        faults = sum(proxy.stats[k] for k in ("429", "500", "hang", "truncate"))
        lines = read_lines(run_dir)
        assert len(lines) == 8 and len({r["example_id"] for r in lines}) == 8
        assert [r["error"] for r in lines if r["error"]] == [] and all(r["raw"] for r in lines)
        m = read_manifest(run_dir)
        assert m["status"] == "complete" and faults >= 4 and proxy.stats["hang"] >= 1
        # each injected fault costs one failed attempt; a slow real answer past the timeout may add more
        assert m["usage"]["retries"] >= faults and m["usage"]["requests"] == 8 + m["usage"]["retries"]
        assert m["usage"]["requests"] == proxy.stats["received_chat"]  # every request counted exactly once
        assert sum(r["attempts"] for r in lines) == 8 + m["usage"]["retries"]

        # warm cache: the same work under another run id sends nothing to the server
        proxy.set_plan(FaultPlan())
        before = proxy.stats["forwarded_chat"]
        cfg = openai_cfg(make_cfg, llama_server, proxy, run_id="warm", recipe=recipe, limit=8, concurrency=2)
        warm = run_method(cfg, quiet, cache=response_cache)
        assert proxy.stats["forwarded_chat"] == before
        by_id = lambda rows: {r["example_id"]: r["prediction"] for r in rows}
        assert by_id(read_lines(warm)) == by_id(lines)


def test_401_fails_at_once(make_cfg, quiet, response_cache, llama_server):
    with FaultProxy(llama_server.base_url, FaultPlan(always="401")) as proxy:
        t0 = time.monotonic()
        with pytest.raises(BackendError, match="401"):
            run_method(openai_cfg(make_cfg, llama_server, proxy, concurrency=4), quiet, cache=response_cache)
        assert time.monotonic() - t0 < 30
        assert 1 <= proxy.stats["401"] <= 4  # the requests in flight, no retry storm


def test_secret_reaches_server_but_never_outputs(make_cfg, quiet, response_cache, llama_server, monkeypatch):
    secret = "sk-dpbench-test-7f3a9c1e55"
    monkeypatch.setenv("DPB_SECRET_KEY", secret)
    with FaultProxy(llama_server.base_url) as proxy:
        run_dir = run_method(openai_cfg(make_cfg, llama_server, proxy, limit=1, api_key_env="DPB_SECRET_KEY"),
                             quiet, cache=response_cache)
        assert f"Bearer {secret}" in proxy.auth_headers
    files = [f for f in run_dir.rglob("*") if f.is_file()]
    assert files and not [f for f in files if secret.encode() in f.read_bytes()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dpbench_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from dpbench.cli import main; main()", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


def test_cli_server_down_names_the_url(tiny_data, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    p = dpbench_cli("run", "--method", "rag", "--data", str(tiny_data), "--backend", "openai", "--base-url", url,
                    "--out", str(tmp_path / "out"), "--no-cache")
    assert p.returncode == 2 and url in p.stderr and "Traceback" not in p.stderr


def test_cli_dpl_end_to_end(tiny_data, tmp_path, llama_server):
    recipe = tmp_path / "r.toml"
    recipe.write_text("[generation]\nmax_tokens = 16\nrequest_timeout_s = 300\nmax_review_chars = 120\n"
                      "max_description_chars = 80\n[dpl]\nn_items = 2\n[rag]\nk = 2\n")
    args = ["run", "--method", "dpl", "--data", str(tiny_data), "--backend", "openai", "--base-url",
            llama_server.base_url, "--model", llama_server.model, "--limit", "1", "--recipe", str(recipe),
            "--out", str(tmp_path / "out"), "--no-cache"]
    p = dpbench_cli(*args)
    assert p.returncode == 0, p.stderr
    run_dir = Path(p.stdout.strip().splitlines()[-1])
    lines = read_lines(run_dir)
    assert len(lines) == 1 and lines[0]["error"] is None
    assert read_manifest(run_dir)["usage"]["requests"] == 2 + 2
    t = lines[0]["trace"]
    assert len(t["items"]) == 2 and all(i["difference"] and len(i["peers"]) == 4 for i in t["items"])
    assert t["summary"] and lines[0]["raw"]
    # the same command again resumes: nothing left to do, same directory, exit 0
    again = dpbench_cli(*args)
    assert again.returncode == 0 and Path(again.stdout.strip().splitlines()[-1]) == run_dir
