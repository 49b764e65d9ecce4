"""Fixtures: the tiny benchmark and its examples (with peers), loaded once per module."""

from __future__ import annotations

import pytest

from dpbench.data.examples import connect, load_examples, select_example_ids
from tests.helpers.tiny_benchmark import write_tiny_benchmark


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return write_tiny_benchmark(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def test_examples(tiny_data):
    con = connect(tiny_data)
    try:
        return {e.user_id: e for e in load_examples(con, select_example_ids(con, "test"), with_peers=True)}
    finally:
        con.close()
