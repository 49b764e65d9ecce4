"""`dpbench export`: the hf export loads with `datasets.load_from_disk`, and its dataset card (README.md)
reads with huggingface_hub and says what the benchmark is; pushing offline says so at once."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from dpbench.cli import app
from dpbench.data.build import build_benchmark
from dpbench.errors import DpbenchError
from dpbench.recipes import load_recipe


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "sample"
    build_benchmark(["sample"], load_recipe("sample"), out)
    return out


def test_hf_export_loads_and_its_card_describes_the_benchmark(sample, tmp_path):
    from datasets import load_from_disk
    from huggingface_hub import DatasetCard

    res = CliRunner().invoke(app, ["export", str(sample), "--format", "hf,parquet", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    dd = load_from_disk(str(tmp_path / "hf"))
    con = duckdb.connect(str(sample / "benchmark.duckdb"), read_only=True)
    per_split = dict(con.execute("SELECT split, count(*) FROM examples GROUP BY 1").fetchall())
    fingerprint = con.execute("SELECT value FROM build_info WHERE key = 'fingerprint'").fetchone()[0]
    con.close()
    assert {s: len(dd[s]) for s in dd} == per_split
    row = dd["test"][0]
    assert row["reference"] and isinstance(row["history"], list) and row["history"][0]["text"]
    card = DatasetCard.load(tmp_path / "hf" / "README.md")
    assert card.data.license == "other" and "dpbench" in card.data.tags and card.data.language == ["en"]
    assert card.data.task_categories == ["text-generation"] and card.data.size_categories == ["1K<n<10K"]
    text = card.text
    assert fingerprint in text and "peer_ts < target_ts" in text and "McAuley Lab" in text
    assert f"| test | Books | {sum(1 for r in dd['test'] if r['category'] == 'Books')} |" in text
    assert "`reference`" in text and "| `history` |" in text and "sha256" in text
    assert (tmp_path / "parquet" / "README.md").exists()


def test_push_to_hub_offline_says_so_at_once(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    res = CliRunner().invoke(app, ["export", str(sample), "--format", "hf", "--out", str(tmp_path),
                                   "--push-to-hub", "me/sample"])
    assert isinstance(res.exception, DpbenchError) and "HF_HUB_OFFLINE=1" in str(res.exception)
    assert not (tmp_path / "hf").exists()  # nothing was done first
    res = CliRunner().invoke(app, ["export", str(sample), "--format", "parquet", "--push-to-hub", "me/x"])
    assert "add --format hf" in str(res.exception)
