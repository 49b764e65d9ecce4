"""Fixtures for run-loop tests: the tiny benchmark and a RunConfig factory."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from dpbench.recipes import load_recipe
from dpbench.run.config import RunConfig
from tests.helpers.servers import llama_server  # noqa: F401  (session fixture: the shared real server)
from tests.helpers.tiny_benchmark import write_tiny_benchmark


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return write_tiny_benchmark(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def make_cfg(tiny_data, tmp_path):
    def make(method="nonpersonal", **kw):
        recipe = kw.pop("recipe", load_recipe("sample"))
        return RunConfig(method=method, data=tiny_data, recipe=recipe, out=kw.pop("out", tmp_path / "out"), **kw)
    return make


@pytest.fixture
def quiet():
    return Console(file=io.StringIO(), width=120)


def read_lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]


def read_manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())
