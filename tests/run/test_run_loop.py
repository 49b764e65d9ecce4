"""The run loop with a scripted backend: contract files, cache, errors, abort, shards, resume checks."""

from __future__ import annotations

import pytest

from dpbench.errors import BackendError, DpbenchError
from dpbench.llm.base import RetriesExhausted
from dpbench.llm.redact import redact_url
from dpbench.run import run_method
from tests.helpers.fake_backend import FakeBackend, FakeEmbedder
from tests.run.conftest import read_lines, read_manifest


def test_complete_run_writes_contract(make_cfg, quiet, response_cache):
    backend = FakeBackend()
    run_dir = run_method(make_cfg("rag"), quiet, backend=backend, cache=response_cache)
    lines = read_lines(run_dir)
    ids = (run_dir / "example_ids.txt").read_text().split()
    assert len(ids) == 12 and sorted(r["example_id"] for r in lines) == sorted(ids)
    m = read_manifest(run_dir)
    assert m["run_id"] == run_dir.name and m["status"] == "complete" and m["n_done"] == 12 and m["n_errors"] == 0
    assert m["usage"]["requests"] == 12 == len(backend.requests) and m["usage"]["cached"] == 0
    assert m["n_expected"] == m["n_expected_all"] == 12 and m["benchmark_fingerprint"] == "tiny-fingerprint"
    assert m["sampling"] == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 96, "seed": 42, "repetition_penalty": 1.0,
                             "frequency_penalty": 0.0, "presence_penalty": 0.0, "no_repeat_ngram_size": 0, "stop": []}
    assert m["prompt_hash"] and m["recipe_hash"] and m["method_settings"]["rag"]["k"] == 4
    assert backend.checks == 1 and backend.closed
    for r in lines:
        assert r["error"] is None and r["prediction"].startswith("fake review ") and r["raw"].startswith("[Review]: ")
        assert r["usage"]["requests"] == 1 and len(r["trace"]["retrieved"]) == 4 and r["prompt_hash"]


def test_same_command_resumes_with_nothing_to_do(make_cfg, quiet, response_cache):
    first = run_method(make_cfg(), quiet, backend=FakeBackend(), cache=response_cache)
    again = FakeBackend()
    assert run_method(make_cfg(), quiet, backend=again, cache=response_cache) == first
    assert again.requests == [] and again.checks == 0 and len(read_lines(first)) == 12


def test_warm_cache_makes_zero_requests_and_same_predictions(make_cfg, quiet, response_cache):
    cold = run_method(make_cfg("pag", run_id="cold"), quiet, backend=FakeBackend(), cache=response_cache)
    warm_backend = FakeBackend()
    warm = run_method(make_cfg("pag", run_id="warm"), quiet, backend=warm_backend, cache=response_cache)
    assert warm_backend.requests == []
    assert read_manifest(warm)["usage"]["cached"] == 24 and read_manifest(warm)["usage"]["requests"] == 0
    pred = lambda d: {r["example_id"]: r["prediction"] for r in read_lines(d)}
    assert pred(cold) == pred(warm)


def test_no_cache_same_seed_same_predictions(make_cfg, quiet, tmp_path):
    a = run_method(make_cfg(run_id="a", no_cache=True), quiet, backend=FakeBackend())
    b = run_method(make_cfg(run_id="b", no_cache=True), quiet, backend=FakeBackend())
    assert [r["prediction"] for r in read_lines(a)] == [r["prediction"] for r in read_lines(b)]
    assert not (tmp_path / "responses.sqlite").exists()


def test_example_error_is_recorded_and_retried_on_rerun(make_cfg, quiet, response_cache):
    def fail(req, n):
        return RetriesExhausted("HTTP 503 after 7 attempts") if "press take 3" in req.messages[1]["content"] else None

    run_dir = run_method(make_cfg(), quiet, backend=FakeBackend(fail=fail), cache=response_cache)
    lines = read_lines(run_dir)
    bad = [r for r in lines if r["error"]]
    assert len(lines) == 12 and len(bad) == 1
    assert bad[0]["error"] == "RetriesExhausted: HTTP 503 after 7 attempts" and bad[0]["prediction"] == ""
    m = read_manifest(run_dir)
    assert (m["status"], m["n_done"], m["n_errors"]) == ("incomplete", 11, 1)
    healthy = FakeBackend()
    run_method(make_cfg(), quiet, backend=healthy, cache=response_cache)
    lines = read_lines(run_dir)
    assert len(healthy.requests) == 1 and len(lines) == 12 and len({r["example_id"] for r in lines}) == 12
    assert all(r["error"] is None for r in lines) and read_manifest(run_dir)["status"] == "complete"


def test_backend_error_at_check_aborts_cleanly(make_cfg, quiet, response_cache):
    backend = FakeBackend(check_error="cannot reach http://127.0.0.1:9/v1: connection refused")
    with pytest.raises(BackendError, match="127.0.0.1:9"):
        run_method(make_cfg(), quiet, backend=backend, cache=response_cache)
    assert backend.requests == []
    run_dir = next((make_cfg().out).iterdir())
    m = read_manifest(run_dir)
    assert m["status"] == "incomplete" and m["n_done"] == 0 and "connection refused" in m["abort_reason"]


def test_backend_error_mid_run_keeps_done_lines(make_cfg, quiet, response_cache):
    backend = FakeBackend(fail=lambda req, n: BackendError("401 Unauthorized from http://x/v1") if n >= 5 else None,
                          max_concurrency=1)
    with pytest.raises(BackendError, match="401"):
        run_method(make_cfg(concurrency=1), quiet, backend=backend, cache=response_cache)
    run_dir = next((make_cfg().out).iterdir())
    assert len(read_lines(run_dir)) == 4 and len(backend.requests) == 5  # stops at once, no retry storm
    assert read_manifest(run_dir)["status"] == "incomplete"
    run_method(make_cfg(concurrency=1), quiet, backend=FakeBackend(), cache=response_cache)
    lines = read_lines(run_dir)
    assert len(lines) == 12 and len({r["example_id"] for r in lines}) == 12


def test_shards_cover_all_examples_once(make_cfg, quiet, response_cache):
    dirs = [run_method(make_cfg(shard=f"{i}/3"), quiet, backend=FakeBackend(), cache=response_cache) for i in range(3)]
    manifests = [read_manifest(d) for d in dirs]
    base = manifests[0]["run_id"]
    assert [d.name for d in dirs] == [f"{base}.shard{i}of3" for i in range(3)]
    assert all(m["run_id"] == base and m["n_expected_all"] == 12 for m in manifests)
    ids = [r["example_id"] for d in dirs for r in read_lines(d)]
    assert len(ids) == 12 == len(set(ids)) and sum(m["n_expected"] for m in manifests) == 12
    assert [m["shard"] for m in manifests] == ["0/3", "1/3", "2/3"]


def test_limit_and_refusing_a_different_run_in_same_dir(make_cfg, quiet, response_cache):
    run_dir = run_method(make_cfg(limit=3, run_id="same"), quiet, backend=FakeBackend(), cache=response_cache)
    assert len(read_lines(run_dir)) == 3 and read_manifest(run_dir)["limit"] == 3
    with pytest.raises(DpbenchError, match="method='nonpersonal'"):
        run_method(make_cfg("rag", limit=3, run_id="same"), quiet, backend=FakeBackend(), cache=response_cache)
    with pytest.raises(DpbenchError, match="limit=3 \\(this command: 5\\)"):
        run_method(make_cfg(limit=5, run_id="same"), quiet, backend=FakeBackend(), cache=response_cache)


def test_dpl_run_records_full_trace(make_cfg, quiet, response_cache):
    backend = FakeBackend()
    run_dir = run_method(make_cfg("dpl", limit=2), quiet, backend=backend, embedder=FakeEmbedder(),
                         cache=response_cache)
    lines = read_lines(run_dir)
    assert len(backend.requests) == 2 * (4 + 2)  # sample recipe: N = 4 items
    for r in lines:
        t = r["trace"]
        assert len(t["items"]) == 4 and t["summary"].startswith("[Review]: fake review")
        assert all(len(i["peers"]) == 4 and i["difference"] for i in t["items"])
        assert t["raw_output"] == r["raw"] and r["usage"]["requests"] == 6


def test_secret_and_url_credentials_never_written(make_cfg, quiet, response_cache, monkeypatch):
    secret = "sk-test-SECRET-1234567890"
    monkeypatch.setenv("DPB_TEST_KEY", secret)
    cfg = make_cfg(backend="openai", api_key_env="DPB_TEST_KEY", base_urls=(f"http://user:{secret}@127.0.0.1:9/v1",))
    run_dir = run_method(cfg, quiet, backend=FakeBackend(), cache=response_cache)
    assert read_manifest(run_dir)["backend_args"]["base_urls"] == ["http://127.0.0.1:9/v1"]
    assert read_manifest(run_dir)["backend_args"]["api_key_env"] == "DPB_TEST_KEY"
    for f in run_dir.rglob("*"):
        assert secret not in f.read_text(errors="replace"), f
    assert redact_url("https://a:b@host.example:8443/v1") == "https://host.example:8443/v1"
