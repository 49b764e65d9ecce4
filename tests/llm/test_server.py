"""The `dpbench serve` launcher: handle, stop, errors, orphan safety, CLI flags."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest
from typer.testing import CliRunner

from dpbench.cli import app
from dpbench.errors import BackendError
from dpbench.llm.server import ServeConfig, start_server, wait_healthy


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def test_served_alias_is_the_short_name():
    assert ServeConfig().served_alias() == "smollm2-135m"
    assert ServeConfig(model="/models/Qwen2.5-7B-Instruct-Q4_K_M.gguf").served_alias() == "Qwen2.5-7B-Instruct-Q4_K_M"
    assert ServeConfig(model="/m/x.gguf", alias="qwen").served_alias() == "qwen"


def test_unknown_model_fails_before_starting_anything():
    with pytest.raises(BackendError, match="neither a packaged model .*smollm2-135m.* nor a .gguf file"):
        start_server("no-such-model")


def test_serve_cli_lists_its_flags():
    out = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200)
    assert out.exit_code == 0
    for flag in ("--model", "--port", "--parallel", "--ctx-per-slot", "--threads", "--alias"):
        assert flag in out.output


@pytest.mark.slow
def test_handle_serves_models_and_stop_frees_the_port():
    with start_server(parallel=1, ctx_per_slot=512) as srv:
        assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1" and srv.model == "smollm2-135m"
        with urllib.request.urlopen(f"{srv.base_url}/models", timeout=10) as r:
            assert [m["id"] for m in json.load(r)["data"]] == ["smollm2-135m"]
    assert srv.process.poll() is not None and not answers(srv.base_url.removesuffix("/v1") + "/health")
    with pytest.raises(BackendError, match="did not answer 200"):
        wait_healthy(srv.base_url, timeout_s=0.5)


@pytest.mark.slow
def test_server_exits_when_its_parent_dies():
    code = ("import os; from dpbench.llm.server import start_server; "
            "h = start_server(parallel=1, ctx_per_slot=512); print(h.base_url, flush=True); os._exit(0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=True)
    health = out.stdout.strip().removesuffix("/v1") + "/health"
    deadline = time.monotonic() + 20
    while answers(health) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not answers(health)


@pytest.mark.slow
def test_port_in_use_is_a_clear_error():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(BackendError, match=f"could not start on 127.0.0.1:{port}.*port already in use"):
            start_server(port=port, parallel=1, ctx_per_slot=512)
