"""Small parsers the command modules share."""

from __future__ import annotations


def split_list(values: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Repeated flags and comma-separated values alike (`--export parquet,hf --export dpl`), in order,
    without duplicates."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    return list(dict.fromkeys(x.strip() for v in items for x in v.split(",") if x.strip()))
