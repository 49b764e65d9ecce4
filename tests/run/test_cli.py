"""`dpbench run` flag handling: RunConfig resolution, clear errors, exit code on failed examples."""

from __future__ import annotations

import io

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from dpbench.cli import app
from dpbench.cli.run_cmd import exit_on_errors
from dpbench.errors import DpbenchError
from dpbench.llm.base import RetriesExhausted
from dpbench.run import run_method
from dpbench.run.config import RunConfig
from tests.helpers.fake_backend import FakeBackend

DEFAULTS = {"method": "rag", "data": "data/x"}
build_run_config = RunConfig.from_flags


def test_build_run_config_resolves_flags_and_recipe():
    cfg = build_run_config(**{**DEFAULTS, "backend": "openai", "base_url": ["http://a/v1", "http://b/v1"],
                              "recipe": "quickstart", "limit": 5, "shard": "1/2", "epochs": 2.0})
    assert cfg.base_urls == ("http://a/v1", "http://b/v1") and cfg.recipe.name == "quickstart"
    assert cfg.recipe.generation.max_tokens == 64 and cfg.limit == 5 and cfg.shard == "1/2"
    assert cfg.recipe.dep.epochs == 2.0  # an output-changing flag lands in the resolved recipe (and its hash)
    assert cfg.concurrency == cfg.recipe.generation.concurrency == 8  # resolved once, not at the point of use
    assert build_run_config(**DEFAULTS, concurrency=9).concurrency == 9
    dpl = build_run_config(method="dpl", data="x", embedder="my-embedder")
    assert dpl.embedder == dpl.recipe.dpl.embedder == "my-embedder"


@pytest.mark.parametrize("change, message", [
    ({"method": "dpll"}, "unknown method 'dpll': choose one of nonpersonal, rag, pag, dpl, dep"),
    ({"backend": "vllm"}, "unknown backend 'vllm'"),
    ({"run_id": "../escape"}, "a run id is one folder name"),
    ({"split": "dev"}, "--split 'dev'"),
    ({"limit": 0}, "--limit must be >= 1"),
    ({"base_url": ["http://a/v1"]}, "--base-url needs --backend openai"),
    ({"recipe": "nosuch"}, "unknown recipe 'nosuch'"),
])
def test_build_run_config_rejects_bad_flags(change, message):
    with pytest.raises(DpbenchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_run_config(**{**DEFAULTS, **change})


def test_cli_missing_benchmark_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["run", "--method", "rag", "--data", str(tmp_path / "nope")])
    assert isinstance(result.exception, DpbenchError) and "build-data" in str(result.exception)


def test_exit_code_and_summary_when_examples_fail(make_cfg, quiet, response_cache):
    fail = lambda req, n: RetriesExhausted("HTTP 500 x7") if "press take 3" in req.messages[1]["content"] else None
    run_dir = run_method(make_cfg(), quiet, backend=FakeBackend(fail=fail), cache=response_cache)
    out = io.StringIO()
    with pytest.raises(typer.Exit) as e:
        exit_on_errors(run_dir, Console(file=out, width=200))
    assert e.value.exit_code == 1
    assert "1 of 12 examples failed" in out.getvalue() and "RetriesExhausted: HTTP 500 x7" in out.getvalue()
    run_method(make_cfg(), quiet, backend=FakeBackend(), cache=response_cache)
    exit_on_errors(run_dir, Console(file=io.StringIO()))  # complete: no exit


def test_set_overrides_any_recipe_field_typed_and_recorded():
    base = build_run_config(**DEFAULTS)
    cfg = build_run_config(**DEFAULTS, sets=["generation.max_tokens=7", "rag.retriever=recency"])
    assert cfg.recipe.generation.max_tokens == 7 and cfg.recipe.rag.retriever == "recency"
    assert cfg.recipe.hash() != base.recipe.hash()  # recorded: another run, never an appended one
    with pytest.raises(DpbenchError, match="max_tokens"):
        build_run_config(**DEFAULTS, sets=["generation.max_tokens=zero"])
    with pytest.raises(DpbenchError, match="has no field 'max_tokenz'"):
        build_run_config(**DEFAULTS, sets=["generation.max_tokenz=7"])
    cfg = build_run_config(**DEFAULTS, decoding={"repetition_penalty": 1.3, "stop": ["\n\n"]})
    assert cfg.recipe.generation.repetition_penalty == 1.3 and cfg.recipe.generation.stop == ["\n\n"]
