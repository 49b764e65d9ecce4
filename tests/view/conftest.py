"""Fixtures for view tests: the scored tiny project (5 runs, hostile texts planted) and a headless
Chromium driven by Playwright (the system's Chromium; Playwright never downloads a browser here)."""

from __future__ import annotations

import pytest

from dpbench.doctor import find_chromium
from tests.view.helpers import make_project

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-extensions",
                 "--no-first-run", "--disable-dev-shm-usage"]
needs_chromium = pytest.mark.skipif(find_chromium() is None,
                                    reason="chromium not installed (apt-get install chromium; CI has it)")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from dpbench.llm.cache import ResponseCache

    root = tmp_path_factory.mktemp("view-project")
    return make_project(root, ResponseCache(root / "responses.sqlite"))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def open_page(browser):
    """open_page(html_path, width, height, bypass_csp) → a page with the view loaded (its first rows in the
    DOM); page.errors lists uncaught script errors, page.dialogs any alert/confirm that opened.
    bypass_csp=True ignores the page's Content-Security-Policy, so a test sees what the JS alone does."""
    pages = []

    def open_(path, width=1300, height=1100, bypass_csp=False):
        page = browser.new_page(viewport={"width": width, "height": height}, bypass_csp=bypass_csp)
        page.errors, page.dialogs = [], []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']", state="attached", timeout=60_000)
        pages.append(page)
        return page

    yield open_
    for p in pages:
        p.close()
