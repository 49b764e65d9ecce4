"""LLM judge: a robust parser, unparsable answers reported apart (never scored 0), cached calls."""

import numpy as np
import pytest

from dpbench.metrics import judge
from dpbench.metrics.config import JudgeConfig, ScoreConfig
from tests.helpers.fake_backend import FakeBackend


@pytest.mark.parametrize("text,expected", [
    ("7", 7.0), ("7.5", 7.5), ("7/10", 7.0), ("7.5/10", 7.5), ("Score: 8", 8.0), ("score = 6", 6.0),
    ("**8**", 8.0), ("[9]", 9.0), ("8 out of 10", 8.0), ("Rating: 9/10", 9.0), ("4/5", 8.0),
    ("I would rate it 6.", 6.0), ("8. It captures the tone well", 8.0), ("The score is 7.", 7.0),
    ("0", 0.0), ("10", 10.0), ("  3\n", 3.0),
])
def test_parser_accepts(text, expected):
    assert judge.parse_score(text) == expected


@pytest.mark.parametrize("text", ["garbage", "", "   ", "11", "-1", "15/10", "between 6 and 8", "N/A", "50%"])
def test_parser_refuses(text):
    assert judge.parse_score(text) is None


def fake_judge(answers: dict[str, str]):
    """Replies by the AI-written review in the prompt."""
    def respond(req):
        user = req.messages[-1]["content"]
        pred = user.split("[AI-written review]: ")[1].split("\n")[0]
        return answers[pred]
    return FakeBackend(respond)


def test_judge_scores_divided_by_ten_with_unparsable_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("DPBENCH_CACHE_DIR", str(tmp_path))
    preds = ["good one", "fine one", "odd one", "", "great one"]
    backend = fake_judge({"good one": "7.5", "fine one": "Score: 6", "odd one": "I cannot say", "great one": "9/10"})
    cfg = ScoreConfig(metrics=("judge",), judge=JudgeConfig(model="fake", backend_object=backend))
    (col,) = judge.compute(preds, ["ref"] * 5, cfg, [{"item_title": "Blender"}] * 5)
    assert np.isnan(col.per_example[2])
    np.testing.assert_allclose(np.delete(col.per_example, 2), [0.75, 0.6, 0.0, 0.9])
    assert col.value() == pytest.approx((0.75 + 0.6 + 0.0 + 0.9) / 4)  # unparsable left out, not 0
    assert col.extra["n_unparsable"] == 1 and col.extra["unparsable_examples"] == ["I cannot say"]
    assert col.extra["n_skipped_empty"] == 1 and len(backend.requests) == 4  # "" never sent
    assert "Blender" in backend.requests[0].messages[-1]["content"]
    assert backend.requests[0].sampling.temperature == 0.0
    assert col.notes and "not scored 0" in col.notes[0]
    # second pass: every answer comes from the response cache
    again = fake_judge({})
    cfg2 = ScoreConfig(metrics=("judge",), judge=JudgeConfig(model="fake", backend_object=again))
    (col2,) = judge.compute(preds, ["ref"] * 5, cfg2, [{"item_title": "Blender"}] * 5)
    assert len(again.requests) == 0
    np.testing.assert_array_equal(np.nan_to_num(col2.per_example, nan=-1), np.nan_to_num(col.per_example, nan=-1))


def test_judge_backend_failures_are_counted_not_scored(monkeypatch, tmp_path):
    monkeypatch.setenv("DPBENCH_CACHE_DIR", str(tmp_path))
    backend = FakeBackend(lambda req: "8", fail=lambda req, n: RuntimeError("boom") if n == 1 else None,
                          max_concurrency=1)
    cfg = ScoreConfig(metrics=("judge",), judge=JudgeConfig(model="fake", backend_object=backend, use_cache=False))
    (col,) = judge.compute(["a", "b"], ["r", "r"], cfg)
    assert col.extra["n_failed"] == 1 and np.isnan(col.per_example).sum() == 1
    assert col.value() == pytest.approx(0.8)
