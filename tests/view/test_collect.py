"""`dpbench view` without a browser: what it gathers from runs, scores and the benchmark, how it cuts
the page to its size budget, and why no text from the data can become markup."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from dpbench.cli import app
from dpbench.view import ViewConfig, build_view
from dpbench.view.collect import collect_view
from dpbench.view.config import CAP_LEVELS, Caps
from dpbench.view.encode import encode, fit, select, to_json
from dpbench.view.page import SCRIPTS, app_script
from tests.helpers.tiny_benchmark import example_id
from tests.view.helpers import HOSTILE_MODEL, LOOP

ROOT = Path(__file__).resolve().parents[2]


def by_method(data):
    return {r.method: r for r in data.runs}


def test_collect_gathers_every_method_trace_and_the_scores(project):
    data = collect_view([project], ViewConfig())
    runs = by_method(data)
    assert [r.method for r in data.runs] == ["nonpersonal", "dep", "dpl", "pag", "rag"]  # baseline first
    assert runs["nonpersonal"].label == "nonpersonal (baseline)" and runs["dep"].label == "dep"
    assert all(r.baseline_run_id == runs["nonpersonal"].run_id for r in data.runs)
    assert len(data.examples) == 12 and data.metrics == ["rouge1", "rougeL", "bleu_sentence"]
    eid = example_id("u1", "r1_6")  # user 1's test example
    ex = data.examples[eid]
    assert [p for p, _ in ex.history] == [0, 1, 2, 3, 4, 5] and ex.n_history == 6
    # RAG/PAG retrieved reviews are the user's own history reviews, all on the page
    hist = {r for _, r in ex.history}
    for m in ("rag", "pag"):
        ret = runs[m].outputs[eid].trace.retrieved
        assert len(ret) == 4 and {r for r, _ in ret} <= hist
    assert runs["pag"].outputs[eid].trace.profile.startswith("Great pag review")
    # DPL: 4 items × 4 representative peers, each another user's review written before the target
    dpl = runs["dpl"].outputs[eid].trace
    assert len(dpl.dpl_items) == 4 and dpl.summary
    for item in dpl.dpl_items:
        assert item.review_id in hist and len(item.peer_ids) == 4 and item.difference
        for p in item.peer_ids:
            assert data.reviews[p].ts < ex.target_ts and data.reviews[p].user_id != "u1"
            assert data.reviews[p].item_id == item.item_id
    # DEP: two slots filled by the two newest history entries, two masked
    slots = runs["dep"].outputs[eid].trace.slots
    assert [s.masked for s in slots] == [False, False, True, True]
    assert [data.reviews[s.review_id].ts for s in slots[:2]] == sorted(
        (data.reviews[s.review_id].ts for s in slots[:2]), reverse=True)
    # per-example metrics and health flags from example_scores.jsonl
    rows = {json.loads(x)["example_id"]: json.loads(x) for x in
            (Path(runs["rag"].run_dir) / "example_scores.jsonl").read_text().splitlines()}
    assert runs["rag"].outputs[eid].metrics["rouge1"] == rows[eid]["rouge1"]
    dep_out = list(runs["dep"].outputs.values())
    assert dep_out[0].prediction == LOOP and "loop" in dep_out[0].health
    assert dep_out[1].status == "error" and "CUDA out of memory" in dep_out[1].error
    assert runs["dep"].scored and runs["dep"].model == HOSTILE_MODEL


def test_history_keeps_the_newest_entries_and_every_entry_a_method_used(project):
    data = collect_view([project], ViewConfig())
    sel = select(data, Caps(history=1))
    eid = example_id("u1", "r1_6")
    used = set().union(*(r.outputs[eid].trace.review_ids() for r in data.runs))
    kept = sel.history[eid]
    assert kept[0][0] == 0 and {r for _, r in kept} == used | {kept[0][1]}
    assert len(kept) < 6  # some entry was used by no method and is left out at this cap


def test_payload_json_cannot_close_its_script_block():
    nasty = "</script><script>alert(1)</script><!-- a\u2028b & c > d"
    text = to_json({"t": nasty, "k": [nasty]})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"t": nasty, "k": [nasty]}


def test_page_holds_no_markup_from_the_data_and_fetches_nothing(project, tmp_path):
    res = build_view([project], ViewConfig(out=tmp_path / "v.html"))
    html = res.path.read_text(encoding="utf-8")
    assert res.path == tmp_path / "v.html" and res.n_runs == 5 and res.n_examples == 12
    assert html.count("</script>") == 2 and html.count("<script") == 2  # the data block and the app, nothing planted
    assert "<img" not in html and "onerror=" not in html.replace("onerror=\\", "")  # planted ones are escaped JSON
    assert "\\u003cimg src=x onerror=" in html
    assert not re.search(r"\b(src|href)\s*=", html.split('<script type="application/json"')[0])
    assert "http://" not in html and "https://" not in html
    script = re.search(r"<script>(.*)</script>\n</body>", html, re.S).group(1)
    assert script == app_script()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html and "default-src 'none'" in html and "img-src 'none'" in html
    for name in SCRIPTS:  # the app never parses text as HTML
        js = (ROOT / "dpbench" / "view" / "assets" / name).read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in js, (name, sink)


def test_fit_cuts_texts_until_the_page_fits_and_says_so(project):
    data = collect_view([project], ViewConfig())
    full = to_json(encode(data, Caps()))
    level3 = Caps().scaled(*CAP_LEVELS[3])
    budget = len(to_json(encode(data, level3)).encode())  # levels 1 and 2 cut less: only level 3 fits
    text, caps, level = fit(data, Caps(), max_bytes=budget)
    assert level == 3 and caps == level3 and len(text.encode()) <= budget < len(full.encode())
    assert caps.review < Caps().review and caps.prediction < Caps().prediction and caps.peer < Caps().peer
    payload = json.loads(text)
    assert payload["meta"]["caps"]["review"] == caps.review and payload["meta"]["cut"] > 0
    assert any(r[6].endswith("…") and len(r[6]) <= caps.review for r in payload["reviews"])
    same, _, level0 = fit(data, Caps(), max_bytes=len(full) + 10)
    assert level0 == 0 and json.loads(same)["reviews"] == json.loads(full)["reviews"]


def test_cli_writes_view_html_beside_the_leaderboard(project):
    res = CliRunner().invoke(app, ["view", str(project)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert (project / "view.html").exists() and (project / "leaderboard.html").exists()
    assert "wrote" in res.output and "12 examples, 5 runs" in res.output
    assert oct((project / "view.html").stat().st_mode & 0o777) == "0o644"
    res = CliRunner().invoke(app, ["view", str(project), "--baseline", "rag", "--out", str(project / "b.html"),
                                   "--max-history", "2"], catch_exceptions=False)
    payload = page_payload(project / "b.html")
    rag = next(i for i, r in enumerate(payload["runs"]) if r["method"] == "rag")
    assert payload["meta"]["baseline"] == "rag" and all(r["base"] == rag for r in payload["runs"])
    assert payload["meta"]["caps"]["history"] == 2
    CliRunner().invoke(app, ["view", str(project), "--limit", "3", "--out", str(project / "c.html")],
                       catch_exceptions=False)
    payload = page_payload(project / "c.html")
    assert [e[0] for e in payload["ex"]] == sorted(e[0] for e in page_payload(project / "b.html")["ex"])[:3]
    assert all(len(out) == 3 for out in payload["out"])


def test_unreadable_runs_are_listed_and_unscored_runs_get_health_flags(project, tmp_path):
    out = tmp_path / "outputs"
    shutil.copytree(next(project.glob("*dep-run*")), out / "dep-run")
    for f in ("scores.json", "example_scores.jsonl"):
        (out / "dep-run" / f).unlink()
    (out / "broken").mkdir()
    (out / "broken" / "manifest.json").write_text("{not json")
    res = CliRunner().invoke(app, ["view", str(out)])
    assert res.exit_code == 1 and "not shown" in res.output and "broken" in res.output
    payload = page_payload(out / "view.html")
    assert payload["metrics"] == [] and payload["runs"][0]["scored"] is False
    assert any("not scored yet" in n for n in payload["meta"]["notes"])
    assert "loop" in payload["out"][0][0]["h"]  # computed here: dpbench score never ran
    assert any("broken" in p for p in payload["meta"]["problems"])


def test_assets_ship_as_package_data():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "view/assets/*" in cfg["tool"]["setuptools"]["package-data"]["dpbench"]
    assert any(d.startswith("playwright") for d in cfg["project"]["optional-dependencies"]["dev"])
    for name in (*SCRIPTS, "view.css"):
        assert (ROOT / "dpbench" / "view" / "assets" / name).is_file()


def page_payload(path: Path) -> dict:
    html = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="dpbench-data">(.*?)</script>', html, re.S).group(1))
