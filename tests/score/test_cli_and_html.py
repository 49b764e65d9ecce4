"""The `dpbench score` / `dpbench doctor` commands, and the HTML leaderboard rendered in headless Chromium."""

import json
import subprocess

import pytest
from typer.testing import CliRunner

from dpbench.cli import app
from dpbench.doctor import find_chromium
from dpbench.errors import DpbenchError
from tests.score.helpers import TOY_HYP, TOY_REF, make_benchmark, make_run

REFS = {f"e{i:02d}": f"{TOY_REF} Number {i}: the jar is sturdy." for i in range(12)}


@pytest.fixture
def outputs(tmp_path):
    bench = make_benchmark(tmp_path / "data" / "toy", REFS)
    out = tmp_path / "outputs"
    make_run(out / "np", bench, dict.fromkeys(REFS, "Nice product."), method="nonpersonal")
    make_run(out / "rag", bench, {k: f"{TOY_HYP} Number {k}: jar sturdy." for k in REFS}, method="rag")
    make_run(out / "dpl", bench, {k: v.replace("The", "A") for k, v in list(REFS.items())[:9]},
             method="dpl", example_ids=sorted(REFS))
    return out


def test_score_command_writes_leaderboards(outputs):
    res = CliRunner().invoke(app, ["score", str(outputs), "--metrics", "rouge,bleu", "--baseline", "nonpersonal",
                                   "--format", "md,json,html,latex", "--resamples", "200"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "ROUGE-1" in res.output and "rag" in res.output and "nonpersonal (baseline)" in res.output
    for ext in ("md", "json", "html", "tex"):
        assert (outputs / f"leaderboard.{ext}").exists()
    assert not (outputs / "leaderboard.csv").exists()
    board = json.loads((outputs / "leaderboard.json").read_text())
    rows = {r["method"]: r for r in board["groups"][0]["rows"]}
    assert rows["rag"]["cells"]["rouge1"]["marker"] == "**"
    assert set(rows["dpl"]["flags"]) == {"incomplete", "unhealthy"} and rows["dpl"]["coverage"] == 0.75
    # missing examples count as empty outputs: 25% degenerate > the 10% threshold
    h = rows["dpl"]["health"]
    assert h["empty"] == 0.25 and h["unhealthy"] is True and "25% of outputs are degenerate (empty 25%)" in h["reason"]
    assert {k: rows["rag"]["health"][k] for k in ("empty", "loop", "echo", "meta", "unhealthy")} == {
        "empty": 0.0, "loop": 0.0, "echo": 0.0, "meta": 0.0, "unhealthy": False}
    assert rows["rag"]["health"]["cut"] is None  # these runs recorded no finish reason
    md = (outputs / "leaderboard.md").read_text()
    assert "| dpl ⚠ |" in md and "⚠ dpl: 25% of outputs are degenerate" in md


def test_score_command_rejects_unknown_metric_and_format(outputs):
    res = CliRunner().invoke(app, ["score", str(outputs), "--metrics", "rogue"])
    assert isinstance(res.exception, DpbenchError) and "did you mean 'rouge'" in str(res.exception).lower()
    res = CliRunner().invoke(app, ["score", str(outputs), "--format", "pdf"])
    assert isinstance(res.exception, DpbenchError) and "latex" in str(res.exception)
    res = CliRunner().invoke(app, ["score", str(outputs), "--metrics", "judge"])
    assert isinstance(res.exception, DpbenchError) and "--judge-model" in str(res.exception)


def test_doctor_command_reports_each_check():
    res = CliRunner().invoke(app, ["doctor"])
    assert "WordNet" in res.output and "libgomp1" in res.output and "minilm-l6" in res.output
    assert res.exit_code in (0, 1)


@pytest.mark.slow
@pytest.mark.skipif(find_chromium() is None, reason="chromium not installed (apt-get install chromium; CI has it)")
def test_html_leaderboard_renders_in_headless_chromium(outputs, tmp_path):
    from matplotlib.image import imread

    res = CliRunner().invoke(app, ["score", str(outputs), "--metrics", "rouge,bleu", "--baseline", "nonpersonal",
                                   "--format", "html", "--resamples", "100"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    html = outputs / "leaderboard.html"
    assert "http://" not in html.read_text().replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    base = [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count('<table class="leaderboard">') == 1
    assert dom.count('class="bar-chart"') == 4  # ROUGE-1, ROUGE-L, BLEU, sentBLEU
    assert dom.count('class="bar"') == 12 and dom.count('class="error-bar"') == 12  # 3 runs × 4 metrics
    assert 'data-run-id="rag"' in dom and "Settings" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1200,900", html.as_uri()],
                   capture_output=True, timeout=120)
    img = imread(str(shot))[..., :3]
    orange = (abs(img[..., 0] - 0xF2 / 255) < 0.03) & (abs(img[..., 1] - 0x8E / 255) < 0.03) & \
             (abs(img[..., 2] - 0x2B / 255) < 0.03)
    assert orange.sum() > 500  # the second run's bars were painted
