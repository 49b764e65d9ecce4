"""Python's whitespace rules in DuckDB SQL: the published pipeline cleans a text with
re.sub(r'\\s+', ' ', text.strip()), and its \\s is Python's str.isspace() set, so these use that set."""

from __future__ import annotations

# Python's str.isspace() set.
WS_CLASS = r"[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
# Whitespace other than the plain space; a run needs rewriting when it holds one of these or 2+ spaces.
NS_CLASS = r"[\t\n\x0b\x0c\r\x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"


def blank_sql(col: str) -> str:
    """True when the text is empty or all whitespace. The full-match regex runs only on texts whose
    first character is whitespace at all (code points <= 32 or >= 0x85: the class's bounds), so a
    normal text costs one code-point read, not a scan."""
    return (f"({col} = '' OR ((unicode({col}) <= 32 OR unicode({col}) >= 133) "
            f"AND regexp_full_match({col}, '{WS_CLASS}*')))")


def needs_normalize_sql(col: str) -> str:
    """True when Python's whitespace normalization would change the text."""
    return f"(starts_with({col}, ' ') OR ends_with({col}, ' ') OR regexp_matches({col}, '{NS_CLASS}|  '))"


def rewrite_whitespace_sql(col: str) -> str:
    """Each run of whitespace that is not a single space becomes one space; then the one space a
    run can leave at either end is cut off by slicing, not trim(): trim copies every text it is
    given and cost half the time of the whole rewrite. The regex result goes through a one-element
    lambda so it is computed once (DuckDB does not share a repeated expression inside a CASE)."""
    r = f"regexp_replace({col}, '{WS_CLASS}*{NS_CLASS}{WS_CLASS}*|  +', ' ', 'g')"
    cut = ("CASE WHEN starts_with(x, ' ') OR ends_with(x, ' ') "
           "THEN x[1 + starts_with(x, ' ')::INTEGER : length(x) - ends_with(x, ' ')::INTEGER] ELSE x END")
    return f"list_transform([{r}], lambda x: {cut})[1]"


def normalize_sql(col: str) -> str:
    """Python's re.sub(r'\\s+', ' ', text.strip()) in SQL (same whitespace set). Rewriting every
    single space is slow, so only runs that change are replaced, and only in texts that have one."""
    return f"CASE WHEN {needs_normalize_sql(col)} THEN {rewrite_whitespace_sql(col)} ELSE {col} END"
