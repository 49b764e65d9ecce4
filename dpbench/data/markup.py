"""Markup in item metadata: HTML tags stripped and character references decoded, per staged row.

Scraped metadata carries markup into prompts: 2018 titles that are only the fragment
`<span class="a-size-medium a-color-secondary"`, descriptions wrapped in `<div class="aplus">`,
entities such as `&amp;` and `&#39;` everywhere. Text is parsed with the standard library's
HTMLParser (maintained with CPython; no extra dependency): tag contents are kept, block-level tags
become spaces, script/style bodies and comments are dropped, character references are decoded;
then whitespace runs collapse to one space. A title or description that held only markup becomes
empty: missing.

Only rows that look like markup (a tag opener `<x`, `</`, `<!`, `<?` or a complete character
reference `&name;`, `&#N;`) are sent to Python (`MARKUP_SQL` finds them in DuckDB); every other
row is left byte for byte as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# DuckDB regex (RE2) for "may hold markup"; the same pattern in Python below.
MARKUP_RE = r"<[A-Za-z/!?]|&(#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);"
_MARKUP = re.compile(MARKUP_RE)
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_OPEN_AT_END = re.compile(r"<[A-Za-z!?]|</[A-Za-z]")
_WS = re.compile(r"\s+")
# Tags whose boundary separates words ("a<br>b" reads "a b", "a<b>b</b>" reads "ab").
_BLOCK = frozenset(
    ["address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"]
)
_SKIP = frozenset(("script", "style", "template"))


@dataclass(frozen=True)
class Cleaned:
    text: str
    had_tags: bool
    had_entities: bool


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags = 0
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        self.tags += 1
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        self.tags += 1
        if tag in _BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        self.tags += 1
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_comment(self, data):
        self.tags += 1

    def handle_decl(self, decl):
        self.tags += 1

    def handle_pi(self, data):
        self.tags += 1

    def unknown_decl(self, data):
        self.tags += 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def has_markup(text: str | None) -> bool:
    return bool(text) and _MARKUP.search(text) is not None


def clean_markup(text: str) -> Cleaned:
    """The visible text of an HTML fragment, whitespace collapsed."""
    p = _TextOf()
    p.feed(text)
    # HTML5: a tag (or comment) still open at the end of the input is dropped, not shown as text.
    # CPython's parser does this from 3.13.4/3.12.11 on; older ones print the fragment: same rule here
    # for all (the unparsed rest of the input is what the parser still buffers).
    rest = p.rawdata
    if _OPEN_AT_END.match(rest):
        p.tags += 1
        p.rawdata = ""
    p.close()
    out = _WS.sub(" ", "".join(p.parts)).strip()
    return Cleaned(out, p.tags > 0, _ENTITY.search(text) is not None)


def clean_description(parts: list[str]) -> Cleaned:
    """Each list entry cleaned on its own (an entry can end inside a tag that the next one never
    closes), then joined with single spaces; empty entries are skipped."""
    cleaned = [clean_markup(x) for x in parts]
    text = " ".join(c.text for c in cleaned if c.text)
    return Cleaned(text, any(c.had_tags for c in cleaned), any(c.had_entities for c in cleaned))


REPAIR_KINDS = ("markup_stripped", "entities_decoded", "title_missing_after_cleaning",
                "description_empty_after_cleaning")


def repair_metadata(con) -> int:
    """Clean the staged metadata rows flagged has_markup in place (stage_meta title, description) and
    record each kind of repair per row in meta_repairs(file_id, line, kind) (stage.py creates both);
    returns the rows changed. Runs before the metadata duplicates are ranked (by description length)."""
    import pyarrow as pa

    from dpbench.data.sqltext import dict_rows

    rows = dict_rows(con, """SELECT file_id, line, title, description, desc_parts FROM stage_meta
                             WHERE has_markup AND reason IS NULL""")
    fixed: dict[str, list] = {"file_id": [], "line": [], "title": [], "description": []}
    repairs: dict[str, list] = {"file_id": [], "line": [], "kind": []}
    for r in rows:
        title, desc = r["title"] or "", r["description"] or ""
        t = clean_markup(title) if has_markup(title) else Cleaned(title, False, False)
        if r["desc_parts"] is not None:
            parts = r["desc_parts"]
            d = clean_description(parts[1:] if parts and parts[0] == "Product Description" else parts)
        else:
            d = Cleaned(desc, False, False)
        kinds = [k for k, hit in (
            ("markup_stripped", t.had_tags or d.had_tags),
            ("entities_decoded", t.had_entities or d.had_entities),
            ("title_missing_after_cleaning", bool(title.strip()) and not t.text),
            ("description_empty_after_cleaning", bool(desc.strip()) and not d.text),
        ) if hit]
        if (t.text, d.text) == (title, desc) and not kinds:
            continue
        for key, v in (("file_id", r["file_id"]), ("line", r["line"]), ("title", t.text), ("description", d.text)):
            fixed[key].append(v)
        for k in kinds:
            repairs["file_id"].append(r["file_id"])
            repairs["line"].append(r["line"])
            repairs["kind"].append(k)
    if not fixed["line"]:
        return 0
    con.register("_fixed", pa.table(fixed, schema=pa.schema(
        [("file_id", pa.int32()), ("line", pa.int64()), ("title", pa.string()), ("description", pa.string())])))
    con.execute(
        """UPDATE stage_meta SET title = f.title, description = f.description FROM _fixed f
           WHERE stage_meta.file_id = f.file_id AND stage_meta.line = f.line"""
    )
    con.unregister("_fixed")
    con.register("_repairs", pa.table(repairs, schema=pa.schema(
        [("file_id", pa.int32()), ("line", pa.int64()), ("kind", pa.string())])))
    con.execute("INSERT INTO meta_repairs SELECT * FROM _repairs")
    con.unregister("_repairs")
    return len(fixed["line"])


def summarize_repairs(con, examples: int = 5) -> dict[str, dict]:
    """{"meta:KIND": {count, files: {file name: count}, examples: ["file:line", ...]}}."""
    out: dict[str, dict] = {}
    rows = con.execute(
        """SELECT r.kind, f.name, count(*) AS n, list(f.name || ':' || r.line ORDER BY r.line) AS ex
           FROM meta_repairs r JOIN files f USING (file_id) GROUP BY ALL ORDER BY r.kind, f.name"""
    ).fetchall()
    for kind, name, n, ex in rows:
        entry = out.setdefault(f"meta:{kind}", {"count": 0, "files": {}, "examples": []})
        entry["count"] += int(n)
        entry["files"][name] = int(n)
        entry["examples"] = (entry["examples"] + list(ex))[:examples]
    order = {f"meta:{k}": i for i, k in enumerate(REPAIR_KINDS)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], 99)))
