"""Values that DuckDB cannot take as prepared parameters (SET, ATTACH, COPY ... TO and pattern
constants), written as SQL literals and identifiers with their quotes doubled: a path such as
`/tmp/it's data` or a hostile recipe value stays one literal and never becomes SQL."""

from __future__ import annotations

from pathlib import Path


def sql_literal(value: str | Path) -> str:
    """A single-quoted SQL string literal of `value` (quotes doubled; NUL refused)."""
    text = str(value)
    if "\x00" in text:
        raise ValueError(f"a NUL character cannot be part of an SQL value: {text!r}")
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """A double-quoted SQL identifier (quotes doubled)."""
    if "\x00" in name:
        raise ValueError(f"a NUL character cannot be part of an SQL name: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def dict_rows(con, sql: str, params: list | dict | None = None) -> list[dict]:
    """The query's rows as dicts keyed by column name (read by name, never by position)."""
    cur = con.execute(sql, params) if params is not None else con.execute(sql)
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def sql_int(value: int) -> str:
    """An integer literal (recipe thresholds are typed ints; anything else is refused, never spliced)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer for SQL, got {value!r}")
    return str(int(value))
