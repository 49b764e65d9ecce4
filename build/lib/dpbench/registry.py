"""A small typed registry: names → lazily imported objects, with suggestions on typos."""

from __future__ import annotations

import difflib
import importlib
from typing import Generic, TypeVar

from dpbench.errors import DpbenchError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, table: dict[str, str]):
        # table: name -> "module:attribute", imported on first use so `dpbench --help` stays fast
        self.kind = kind
        self._table = dict(table)

    def names(self) -> list[str]:
        return sorted(self._table)

    def register(self, name: str, target: str) -> None:
        if name in self._table:
            raise DpbenchError(f"{self.kind} {name!r} is already registered")
        self._table[name] = target

    def get(self, name: str) -> T:
        if name not in self._table:
            close = difflib.get_close_matches(name, self._table, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise DpbenchError(f"unknown {self.kind} {name!r}; choose from {', '.join(self.names())}.{hint}")
        module, _, attr = self._table[name].partition(":")
        return getattr(importlib.import_module(module), attr)
