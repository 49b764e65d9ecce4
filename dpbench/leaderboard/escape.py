"""Escaping untrusted text (run ids, model names, warnings quoting data) for Markdown and LaTeX."""

from __future__ import annotations

# HTML (inline tags render in most Markdown viewers), table cells (|), links and images ([ ]: a `(` or `!`
# is harmless without them), code spans and emphasis (* and `; an intraword _ never emphasizes in GFM).
_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*[]|"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"})


def md_escape(text: object) -> str:
    """Literal text in a Markdown table cell or list item."""
    return " ".join(str(text).split()).translate(_MD_SPECIAL)


def latex_escape(text: str) -> str:
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(table.get(ch, ch) for ch in text)

