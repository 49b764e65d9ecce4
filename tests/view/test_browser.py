"""The view in headless Chromium (driven by Playwright): screenshots of the list and of an example
page, the DOM of both, filtering and sorting by typing and clicking, and hostile texts that must stay text."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.helpers.tiny_benchmark import example_id
from tests.view.conftest import needs_chromium
from tests.view.helpers import HOSTILE_MODEL
from tests.view.test_collect import page_payload

pytestmark = [pytest.mark.slow, needs_chromium]
HOSTILE_TEXT = "<img src=x onerror="


@pytest.fixture(scope="module")
def view_html(project):
    from dpbench.view import ViewConfig, build_view

    return build_view([project], ViewConfig()).path


def color_pixels(path, rgb, tol=0.03) -> int:
    from matplotlib.image import imread

    img = imread(str(path))[..., :3]
    return int(np.all(np.abs(img - np.array(rgb) / 255) < tol, axis=-1).sum())


def run_index(payload, method: str) -> int:
    return next(i for i, r in enumerate(payload["runs"]) if r["method"] == method)


def count_text(page) -> str:
    return page.text_content("#count")


def show_example(page, eid: str) -> None:
    page.evaluate(f"location.hash = '#ex/{eid}'")
    page.wait_for_selector(f"#example[data-id='{eid}']")


def test_list_page_renders_rows_and_screenshot(view_html, open_page, tmp_path):
    page = open_page(view_html)
    assert count_text(page) == "12 of 12 examples"
    assert page.locator(".row").count() == 12  # all in view at this height
    heads = page.locator(".thead .hcell").all_text_contents()
    assert heads[:3] == ["user", "item", "split"] and heads[3].startswith("nonpersonal (baseline)")
    assert page.locator(".row .badge.b-loop").count() == 1 and page.locator(".row .badge.b-error").count() == 1
    shot = tmp_path / "list.png"
    page.screenshot(path=str(shot))
    assert color_pixels(shot, (0x4E, 0x79, 0xA7)) > 100  # the first run's colour: its chip and column header
    assert color_pixels(shot, (0xFE, 0xE2, 0xE2)) > 50  # the red health badges (loop, error)
    assert page.errors == []


def test_example_page_shows_history_traces_and_settings(view_html, open_page, project, tmp_path):
    payload = page_payload(view_html)
    page = open_page(view_html)
    eid = example_id("u8", "r8_6")
    page.locator(f".row[data-id='{eid}']").click()
    page.wait_for_selector(f"#example[data-id='{eid}']")
    target_ts = int(page.get_attribute("#example", "data-target-ts"))
    assert page.text_content("#example h2") == "Model 4 Grinder"
    hist = page.locator(".hist-entry")
    assert hist.count() == 6
    positions = [int(x) for x in page.eval_on_selector_all(".hist-entry", "ns => ns.map(n => n.dataset.pos)")]
    assert positions == sorted(positions)  # newest first (position 0 = the most recent)
    dates = page.eval_on_selector_all(".hist-entry .review", "ns => ns.map(n => +n.dataset.ts)")
    assert dates == sorted(dates, reverse=True) and all(d < target_ts for d in dates)
    assert page.locator(".run-card").count() == 5
    dpl = page.locator(".run-card[data-method='dpl']")
    assert dpl.locator(".dpl-item").count() == 4 and dpl.locator(".difference").count() == 4
    peer_ts = dpl.locator(".peer").evaluate_all("ns => ns.map(n => +n.dataset.ts)")
    assert len(peer_ts) == 16 and all(t < target_ts for t in peer_ts)
    assert dpl.locator(".peer .before").count() == 16 and dpl.locator(".peer.leaky").count() == 0
    assert "summary" in dpl.locator(".summary").text_content()
    assert page.locator(".run-card[data-method='rag'] .ret").count() == 4
    assert page.locator(".run-card[data-method='pag'] .ret").count() == 4
    assert "Great pag review" in page.text_content(".run-card[data-method='pag'] .panel.profile")
    dep = page.locator(".run-card[data-method='dep']")
    assert dep.locator("tr.slot.filled").count() == 2 and dep.locator("tr.slot.masked").count() == 2
    marks = page.locator(".run-card[data-method='rag'] .pred mark.ov").all_text_contents()
    reference = page.text_content(".run-card[data-method='rag'] .ref .text").lower()
    assert {m.lower() for m in marks} >= {"great", "works", "perfectly"} and all(m.lower() in reference for m in marks)
    metric_rows = page.locator(".run-card[data-method='rag'] table.metrics tr[data-metric]")
    assert metric_rows.count() == len(payload["metrics"]) == 3
    shot = tmp_path / "example.png"
    page.screenshot(path=str(shot), full_page=True)
    assert color_pixels(shot, (0xFD, 0xE6, 0x8A)) > 300  # word overlap marked
    # the run settings one click away
    dpl.locator(".run-chip").first.click()
    dialog = page.locator("#manifest-dialog")
    assert dialog.is_visible() and '"method": "dpl"' in dialog.locator("pre").text_content()
    assert payload["runs"][run_index(payload, "dpl")]["id"] in dialog.text_content()
    dialog.locator("button.close").click()
    page.keyboard.press("ArrowRight")  # the next example in the list's order
    page.wait_for_selector(f"#example:not([data-id='{eid}'])")
    page.keyboard.press("k")
    page.wait_for_selector(f"#example[data-id='{eid}']")
    page.locator("#back").click()
    page.wait_for_selector("#list-view:not([hidden])")
    assert page.errors == []


def test_filters_and_sorting_by_typing_and_clicking(view_html, open_page):
    payload = page_payload(view_html)
    page = open_page(view_html)
    page.fill("#search", "juicer")
    expect(page.locator("#count")).to_have_text("1 of 12 examples")  # (typing is debounced)
    assert page.locator(".row").count() == 1
    page.fill("#search", "")
    expect(page.locator("#count")).to_have_text("12 of 12 examples")
    page.select_option("#f-flag", "loop")
    assert count_text(page) == "1 of 12 examples"
    page.select_option("#f-flag", "*none")
    n_clean = page.locator(".row").count()
    assert 0 < n_clean < 12
    page.select_option("#f-flag", "")
    # Δ against the baseline, on the DEP run's ROUGE-1
    dep, base = run_index(payload, "dep"), run_index(payload, "nonpersonal")
    score = {k: {o["e"]: o["m"][0] for o in payload["out"][k]} for k in (dep, base)}
    deltas = [score[dep][e] - score[base][e] for e in score[dep]]
    page.select_option("#f-run", str(dep))
    assert page.locator(".thead .hcell[data-sort='delta']").count() == 1
    page.fill("#f-dmin", "0.05")
    assert count_text(page) == f"{sum(d >= 0.05 for d in deltas)} of 12 examples"
    page.fill("#f-dmin", "")
    page.fill("#f-dmax", "-0.001")
    assert count_text(page) == f"{sum(d <= -0.001 for d in deltas)} of 12 examples"
    page.fill("#f-dmax", "")
    # sorting: a click on the DEP column sorts by its score, best first; a second click, worst first
    values = sorted(score[dep].values())
    cell = f".row .cell[data-run='{dep}']"
    page.click(f".hcell[data-sort='run:{dep}']")
    assert page.locator(cell).first.text_content() == f"{values[-1]:.3f}"
    page.click(f".hcell[data-sort='run:{dep}']")
    assert page.locator(cell).first.text_content() == f"{values[0]:.3f}"
    shown = [float(x) for x in page.locator(cell).all_text_contents()]
    assert shown == sorted(shown)
    page.click(".hcell[data-sort='user']")
    assert page.locator(".row .cell").first.text_content() == "u0"
    assert page.errors == []


@pytest.mark.parametrize("bypass_csp", [True, False], ids=["js-alone", "with-csp"])
def test_hostile_texts_stay_text_and_run_nothing(view_html, open_page, bypass_csp):
    """Without the page's CSP (so only the JS's text insertion protects it) and with it."""
    page = open_page(view_html, bypass_csp=bypass_csp)

    def assert_nothing_ran():
        assert page.evaluate("window.__xss") is None
        assert page.title() == "dpbench view · tiny"
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert page.evaluate("document.scripts.length") == 2
        assert page.errors == [] and page.dialogs == []

    assert_nothing_ran()
    cells = page.eval_on_selector_all(".row .cell", "ns => ns.map(n => n.textContent)")
    assert any(c.startswith(HOSTILE_TEXT) and "</script><script>" in c for c in cells)  # the item title, as text
    chips = page.eval_on_selector_all(".run-chip", "ns => ns.map(n => n.textContent)")
    assert any(HOSTILE_MODEL in c for c in chips)  # the model name, as text
    show_example(page, example_id("u0", "r0_6"))  # u0's history holds the planted review
    texts = page.eval_on_selector_all(".hist-entry .rtext, .hist-entry .rtitle", "ns => ns.map(n => n.textContent)")
    assert sum(t.startswith(HOSTILE_TEXT) for t in texts) == 2  # review text and title
    show_example(page, example_id("u4", "r4_6"))  # the target item with a planted title
    assert page.text_content("#example h2").startswith(HOSTILE_TEXT)
    page.locator(".run-card[data-method='dep'] .run-chip").click()
    assert HOSTILE_MODEL in page.text_content("#manifest-dialog pre").replace('\\"', '"')
    assert_nothing_ran()
