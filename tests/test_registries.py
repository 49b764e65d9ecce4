"""Every registry's table imports, its targets have the right shape, and the CLI's choices, help and
errors come from the registries (no copied lists)."""

from __future__ import annotations

import inspect

import pytest
from typer.testing import CliRunner

from dpbench.errors import DpbenchError
from dpbench.leaderboard import FORMATS
from dpbench.llm import BACKENDS
from dpbench.methods import METHODS, RETRIEVERS, get_method
from dpbench.metrics import FAMILIES
from dpbench.run import RUNNERS


def test_every_registered_target_imports_with_the_expected_shape():
    assert METHODS.names() == ["nonpersonal", "rag", "pag", "dpl", "dep"]
    for name in METHODS.names():
        m = get_method(name)
        assert m.name == name and m.runner in RUNNERS and isinstance(m.needs_peers, bool)
        assert isinstance(m.describe(__import__("dpbench.recipes").recipes.Recipe()), dict)
    for name in RUNNERS.names():
        assert list(inspect.signature(RUNNERS.get(name)).parameters)[:2] == ["cfg", "console"]
    assert BACKENDS.names() == ["local", "openai"] and all(callable(BACKENDS.get(n)) for n in BACKENDS.names())
    assert RETRIEVERS.names() == ["bm25", "recency", "dense"]
    assert all(inspect.iscoroutinefunction(RETRIEVERS.get(n)) for n in RETRIEVERS.names())
    assert FORMATS.names() == ["md", "csv", "json", "html", "latex"]
    assert FAMILIES.names() == ["rouge", "bleu", "meteor", "bertscore", "judge"]


def test_unknown_names_suggest_the_closest_and_duplicates_are_refused():
    with pytest.raises(DpbenchError, match="Did you mean 'rag'"):
        get_method("ragg")
    with pytest.raises(DpbenchError, match="already registered"):
        METHODS.register("rag", "x:y")


def test_cli_choices_come_from_the_registries(tmp_path):
    from dpbench.cli import app

    runner = CliRunner()
    help_text = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert " | ".join(METHODS.names()) in help_text and " | ".join(BACKENDS.names()) in help_text
    res = runner.invoke(app, ["run", "--method", "dpll", "--data", str(tmp_path)])
    assert isinstance(res.exception, DpbenchError)
    assert "choose one of nonpersonal, rag, pag, dpl, dep" in str(res.exception) and "'dpl'" in str(res.exception)
    res = runner.invoke(app, ["run", "--method", "rag", "--backend", "vllm", "--data", str(tmp_path)])
    assert "choose one of local, openai" in str(res.exception)
