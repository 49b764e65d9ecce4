"""The page: one self-contained HTML file (inline CSS and JS from dpbench/view/assets/, the data as a
JSON block), nothing fetched. A Content-Security-Policy lets only the page's own script run (by its
hash) and loads nothing, so even a text that became markup could neither run code nor fetch; the JS
inserts every text from the data with textContent/createTextNode (never as HTML).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from importlib import resources

from dpbench.view.model import ViewData

SCRIPTS = ("core.js", "list.js", "example.js", "main.js")  # concatenated in this order into one script
STYLE = "view.css"


def asset(name: str) -> str:
    return resources.files("dpbench.view").joinpath("assets", name).read_text(encoding="utf-8")


def app_script() -> str:
    return "\n".join(asset(n) for n in SCRIPTS)


def csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src 'none'; "
            "connect-src 'none'; base-uri 'none'; form-action 'none'")


def render_page(payload_json: str, title: str = "dpbench view") -> str:
    """The whole HTML document around an already escaped payload (dpbench.view.encode.to_json)."""
    script = app_script()
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{escape(csp(script), quote=False)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{asset(STYLE)}</style></head>\n<body>",
        '<noscript>This page needs JavaScript (inline, offline) to show the examples.</noscript>',
        '<div id="app"></div>\n',
        f'<script type="application/json" id="dpbench-data">{payload_json}</script>\n',
        f"<script>{script}</script>\n</body></html>\n",
    ])


def page_overhead() -> int:
    """Bytes of the page around the payload (for the size budget)."""
    return len(render_page("").encode("utf-8"))


def page_title(data: ViewData) -> str:
    benches = sorted({r.benchmark for r in data.runs})
    return f"dpbench view · {', '.join(benches)}" if benches else "dpbench view"
