"""`score_runs` end to end on hand-built benchmarks and run directories."""

import json

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from dpbench.errors import DpbenchError
from dpbench.leaderboard.text import row_label
from dpbench.metrics.config import ScoreConfig
from dpbench.score import score_runs
from tests.score.helpers import (
    TOY_HYP,
    TOY_REF,
    make_benchmark,
    make_paired_outputs,
    make_run,
    read_json,
)

REFS = {
    "e1": TOY_REF,
    "e2": "I loved this book, the characters felt real and the plot kept me reading all night.",
    "e3": "Sound quality is great but the packaging arrived damaged.",
    "e4": "The movie was too long and the ending made no sense to me.",
}
GOOD = {
    "e1": TOY_HYP,
    "e2": "I loved the book; the characters felt real and I read it all night.",
    "e3": "Great sound quality, though the box came damaged.",
    "e4": "Too long a movie, and the ending made little sense.",
}
FAST = ScoreConfig(metrics=("rouge", "bleu"), bootstrap_resamples=200)


def rouge1_mean(preds, refs):
    sc = rouge_scorer.RougeScorer(["rouge1"])
    return float(np.mean([sc.score(r, p)["rouge1"].fmeasure for p, r in zip(preds, refs, strict=True)]))


@pytest.fixture
def bench(tmp_path):
    return make_benchmark(tmp_path / "data" / "toy", REFS)


def test_scores_equal_libraries_and_files_are_written(tmp_path, bench):
    run = make_run(tmp_path / "outputs" / "rag-1", bench, GOOD, method="rag")
    board = score_runs([tmp_path / "outputs"], FAST)
    rec = read_json(run / "scores.json")
    ids = sorted(REFS)
    preds, refs = [GOOD[i] for i in ids], [REFS[i] for i in ids]
    assert rec["metrics"]["rouge1"]["value"] == pytest.approx(rouge1_mean(preds, refs), abs=1e-9)
    assert rec["metrics"]["bleu"]["value"] == pytest.approx(sacrebleu.corpus_bleu(preds, [refs]).score, abs=1e-9)
    assert rec["metrics"]["rouge1"]["settings"]["use_stemmer"] is False
    lo, hi = rec["metrics"]["rouge1"]["ci_low"], rec["metrics"]["rouge1"]["ci_high"]
    assert lo <= rec["metrics"]["rouge1"]["value"] <= hi
    assert (rec["n_scored"], rec["n_expected"], rec["coverage"], rec["empty_rate"]) == (4, 4, 1.0, 0.0)
    lines = [json.loads(x) for x in (run / "example_scores.jsonl").read_text().splitlines()]
    assert [x["example_id"] for x in lines] == ids and all(x["status"] == "ok" for x in lines)
    assert set(board.files) == {"md", "csv", "json", "html"}
    assert (tmp_path / "outputs" / "leaderboard.md").read_text().count("| rag |") == 1
    data = json.loads((tmp_path / "outputs" / "leaderboard.json").read_text())
    assert data["groups"][0]["rows"][0]["run_id"] == "rag-1"
    assert data["metric_specs"]["bleu"]["aggregation"] == "corpus"


def test_missing_examples_scored_as_empty_and_flagged(tmp_path, bench):
    partial = {k: GOOD[k] for k in ("e1", "e2")}
    run = make_run(tmp_path / "outputs" / "part", bench, partial, example_ids=sorted(REFS))
    score_runs([run], FAST)
    rec = read_json(run / "scores.json")
    ids = sorted(REFS)
    expected = rouge1_mean([partial.get(i, "") for i in ids], [REFS[i] for i in ids])
    assert rec["metrics"]["rouge1"]["value"] == pytest.approx(expected, abs=1e-9)  # over 4, not 2
    assert (rec["n_scored"], rec["n_expected"], rec["coverage"], rec["n_missing"]) == (2, 4, 0.5, 2)
    assert rec["empty_rate"] == 0.5 and "incomplete" in rec["flags"]
    assert any("2 of 4 examples have no prediction" in w for w in rec["warnings"])


def test_errors_and_empty_predictions_are_counted(tmp_path, bench):
    recs = [{"example_id": "e1", "prediction": TOY_HYP}, {"example_id": "e2", "prediction": ""},
            {"example_id": "e3", "prediction": "", "error": "RetriesExhausted: 503"},
            {"example_id": "e4", "prediction": GOOD["e4"]}]
    run = make_run(tmp_path / "r", bench, recs)
    score_runs([run], FAST)
    rec = read_json(run / "scores.json")
    assert (rec["empty_rate"], rec["error_rate"], rec["coverage"]) == (0.5, 0.25, 1.0)
    statuses = [json.loads(x)["status"] for x in (run / "example_scores.jsonl").read_text().splitlines()]
    assert statuses == ["ok", "empty", "error", "ok"]


def test_bad_lines_named_by_file_and_line(tmp_path, bench):
    run = make_run(tmp_path / "outputs" / "bad", bench, GOOD, raw_lines=[
        "{not json", json.dumps({"example_id": "zzz", "prediction": "x"}),
        json.dumps({"example_id": "e1", "prediction": "second copy"}),
    ])
    score_runs([run], FAST)
    rec = read_json(run / "scores.json")
    pred_file = run / "predictions.jsonl"
    joined = "\n".join(rec["warnings"])
    assert f"{pred_file}:5: malformed line" in joined
    assert f"{pred_file}:6: example_id 'zzz' is not among" in joined
    assert f"{pred_file}:7: duplicate example_id 'e1' (first at {pred_file}:1)" in joined
    assert rec["bad_lines"] == {"malformed": 1, "unknown_ids": 1, "duplicates": 1}
    ids = sorted(REFS)
    assert rec["metrics"]["rouge1"]["value"] == pytest.approx(
        rouge1_mean([GOOD[i] for i in ids], [REFS[i] for i in ids]), abs=1e-9)  # first copy kept


def test_broken_runs_reported_others_still_scored(tmp_path, bench):
    out = tmp_path / "outputs"
    make_run(out / "good", bench, GOOD)
    (out / "empty").mkdir(parents=True)
    (out / "nomanifest").mkdir()
    (out / "nomanifest" / "predictions.jsonl").write_text("")
    other = make_benchmark(tmp_path / "data" / "other", REFS, fingerprint="fp-other")
    make_run(out / "otherbench", other, GOOD, fingerprint="fp-other-old")
    notduck = tmp_path / "data" / "notduck"
    notduck.mkdir(parents=True)
    (notduck / "benchmark.duckdb").write_text("this is not a database")
    make_run(out / "badfile", notduck, GOOD)
    import duckdb

    (tmp_path / "data" / "tables").mkdir()
    duckdb.connect(str(tmp_path / "data" / "tables" / "benchmark.duckdb")).execute("CREATE TABLE x (a INT)").close()
    make_run(out / "notables", tmp_path / "data" / "tables", GOOD)
    board = score_runs([out], FAST)
    assert [r.run_id for g in board.groups for r in g.rows] == ["good"]
    text = "\n".join(board.problems)
    assert f"{notduck / 'benchmark.duckdb'} is not a readable DuckDB database" in text
    assert "tables/benchmark.duckdb is a DuckDB database but holds no dpbench benchmark tables" in text
    assert f"{out / 'empty'}: empty directory" in text
    assert f"{out / 'nomanifest'}: no manifest.json" in text
    assert "fp-other-old" in text and "fp-other'" in text and "--data" in text
    md = (out / "leaderboard.md").read_text()
    assert "Runs not scored" in md and "empty directory" in md


def test_nothing_scorable_raises_with_reasons(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DpbenchError, match="empty directory"):
        score_runs([tmp_path / "empty"], FAST)


def test_data_override_and_unknown_example_ids(tmp_path, bench):
    run = make_run(tmp_path / "r", tmp_path / "moved-away", GOOD)
    with pytest.raises(DpbenchError, match="no benchmark"):
        score_runs([run], FAST)
    score_runs([run], FAST.with_(data=bench))
    assert read_json(run / "scores.json")["n_scored"] == 4
    run2 = make_run(tmp_path / "r2", bench, GOOD, example_ids=[*sorted(REFS), "not-in-benchmark"])
    with pytest.raises(DpbenchError, match="not in .*does not belong"):
        score_runs([run2], FAST)


def test_shards_are_merged_into_one_run(tmp_path, bench):
    ids = sorted(REFS)
    for i, part in enumerate((ids[:2], ids[2:])):
        make_run(tmp_path / "outputs" / f"s{i}", bench, {k: GOOD[k] for k in part}, run_id="sharded",
                 shard=f"{i}/2", example_ids=part, n_expected_all=4)
    board = score_runs([tmp_path / "outputs"], FAST)
    (row,) = board.groups[0].rows
    assert (row.run_id, row.n_scored, row.n_expected) == ("sharded", 4, 4)
    rec = read_json(tmp_path / "outputs" / "s1" / "scores.json")
    assert rec["metrics"]["rouge1"]["value"] == pytest.approx(
        rouge1_mean([GOOD[i] for i in ids], [REFS[i] for i in ids]), abs=1e-9)
    assert len(rec["shards"]) == 2


def test_baseline_paired_markers(tmp_path):
    out = make_paired_outputs(tmp_path)
    board = score_runs([out], FAST.with_(baseline="nonpersonal"))
    rows = {r.method: r for r in board.groups[0].rows}
    assert rows["nonpersonal"].is_baseline and rows["nonpersonal"].cells["rouge1"].marker == ""
    assert rows["rag"].cells["rouge1"].marker == "**" and rows["rag"].cells["rouge1"].p_value < 0.01
    rec = read_json(out / "rag" / "scores.json")
    assert rec["paired"]["rouge1"]["baseline_run_id"] == "np"
    assert "**" in (out / "leaderboard.md").read_text()
    assert board.groups[0].rows[0].method == "nonpersonal"  # baseline first


def test_groups_by_benchmark_and_split(tmp_path):
    a = make_benchmark(tmp_path / "data" / "a", REFS, fingerprint="fa")
    b = make_benchmark(tmp_path / "data" / "b", REFS, split="val", fingerprint="fb")
    make_run(tmp_path / "outputs" / "ra", a, GOOD, fingerprint="fa")
    make_run(tmp_path / "outputs" / "rb", b, GOOD, fingerprint="fb", split="val")
    board = score_runs([tmp_path / "outputs"], FAST.with_(formats=("md", "latex")))
    assert [(g.benchmark, g.split) for g in board.groups] == [("a", "test"), ("b", "val")]
    tex = (tmp_path / "outputs" / "leaderboard.tex").read_text()
    assert tex.count(r"\begin{tabular}") == 2 and r"\toprule" in tex


def test_runs_of_one_method_are_told_apart_by_ablation_checkpoint_or_run_id(tmp_path, bench):
    out = tmp_path / "outputs"
    make_run(out / "dep-full", bench, GOOD, method="dep", method_args={"ablate": "none", "checkpoint": None})
    make_run(out / "dep-zero-his", bench, GOOD, method="dep",
             method_args={"ablate": "his", "checkpoint": str(out / "dep-full" / "checkpoints")})
    make_run(out / "rag-a", bench, GOOD)
    make_run(out / "rag-b", bench, GOOD)
    board = score_runs([out], FAST.with_(formats=("md", "csv")))
    labels = [row_label(r) for r in board.groups[0].rows]
    assert labels == ["dep", "dep [ablate=his · ckpt dep-full]", "rag [rag-a]", "rag [rag-b]"]
    md = (out / "leaderboard.md").read_text()
    assert "| dep [ablate=his · ckpt dep-full] |" in md
    assert "variant" in (out / "leaderboard.csv").read_text().splitlines()[0]


def test_health_rates_flags_intermediates_and_fallbacks_are_exact(tmp_path, bench):
    ids = sorted(REFS)
    loop = "Great blender. " * 8
    recs = [
        {"example_id": ids[0], "prediction": loop, "raw": loop, "finish_reason": "length",
         "trace": {"method": "dpl", "items": [], "summary": "Three Stars " * 20,
                   "truncation": {"reviews_truncated": 1, "descriptions_truncated": 0}}},
        {"example_id": ids[1], "prediction": GOOD[ids[1]], "raw": "[Item Title]: x " + GOOD[ids[1]],
         "finish_reason": "stop",
         "trace": {"method": "dpl", "items": [{"difference": "More positive and shorter than the others."}],
                   "summary": "Writes short, upbeat reviews.",
                   "truncation": {"reviews_truncated": 0, "descriptions_truncated": 0}}},
        {"example_id": ids[2], "prediction": GOOD[ids[2]], "raw": "The review text is: " + GOOD[ids[2]],
         "finish_reason": "stop", "trace": {"method": "dpl", "items": [{"difference": ""}], "summary": "Fine."}},
        {"example_id": ids[3], "prediction": GOOD[ids[3]], "raw": GOOD[ids[3]], "finish_reason": "stop",
         "trace": {"method": "dpl", "items": [{"difference": "Calmer."}], "summary": "Calm."}},
    ]
    run = make_run(tmp_path / "outputs" / "dpl", bench, recs, method="dpl")
    board = score_runs([run], FAST.with_(formats=("json",)))
    h = read_json(run / "scores.json")["health"]
    assert (h["n"], h["empty"], h["cut"], h["loop"], h["echo"], h["meta"]) == (4, 0.0, 0.25, 0.25, 0.25, 0.25)
    assert h["degenerate"] == 0.5 and h["unhealthy"] is True
    assert h["intermediates"]["dpl_difference"] == {"n": 3, "empty": 1 / 3, "cut": None, "loop": 0.0, "echo": 0.0,
                                                    "meta": 0.0, "degenerate": 1 / 3}
    assert h["intermediates"]["dpl_summary"]["loop"] == 0.25
    assert h["fallbacks"] == {"dpl_no_peer_items": 0.25, "prompt_truncated": 0.5}
    flags = [json.loads(x)["health"] for x in (run / "example_scores.jsonl").read_text().splitlines()]
    assert flags == [["cut", "loop"], ["echo"], ["meta"], []]
    row = board.groups[0].rows[0]
    assert row.unhealthy and "50% of outputs are degenerate (loop 25%, echo 25%)" in row.health["reason"]
    assert "unhealthy" in read_json(run / "scores.json")["flags"]


def test_default_baseline_and_runs_that_differ_in_more_than_the_method(tmp_path, bench):
    from dpbench.schema import RunSpec

    out = tmp_path / "outputs"
    make_run(out / "np", bench, dict.fromkeys(REFS, "Nice product."), method="nonpersonal")
    make_run(out / "rag", bench, GOOD, method="rag")
    dep = make_run(out / "dep", bench, GOOD, method="dep")
    spec = RunSpec.model_validate_json((dep / "manifest.json").read_text())
    spec.recipe = {"generation": {"max_tokens": 64, "temperature": 0.0, "concurrency": 1}}
    spec.model_file = {"name": "smollm2-135m", "format": "safetensors", "quantization": "none (float32)"}
    (dep / "manifest.json").write_text(spec.model_dump_json())
    board = score_runs([out], FAST.with_(formats=("md", "json")))  # no --baseline given
    assert board.baseline == "nonpersonal"
    rows = {r.method: r for r in board.groups[0].rows}
    assert rows["nonpersonal"].is_baseline and rows["rag"].cells["rouge1"].p_value is not None
    assert rows["rag"].cells["rouge1"].comparable and "†" not in rows["rag"].cells["rouge1"].marker
    assert not rows["dep"].cells["rouge1"].comparable and rows["dep"].cells["rouge1"].marker.endswith("†")
    diffs = board.groups[0].differences
    assert any(d.startswith("generation.max_tokens: 64 (dep)") for d in diffs), diffs
    assert any(d.startswith("weights: ") and "safetensors" in d for d in diffs), diffs
    assert "these runs differ in more than the method" in (out / "leaderboard.md").read_text()
    none = score_runs([out], FAST.with_(formats=("json",), default_baseline=None))
    assert none.baseline is None and all(c.p_value is None for r in none.groups[0].rows for c in r.cells.values())
