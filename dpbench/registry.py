"""One typed registry for every pluggable kind (methods, runners, backends, retrievers, metrics,
leaderboard formats): names → lazily imported targets, with suggestions on typos.

Each registry is an explicit table of `"module:attribute"` strings written where the kind lives, so
`dpbench --help` imports nothing heavy and a test (tests/test_registries.py) imports every target.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Generic, TypeVar

from dpbench.errors import DpbenchError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, table: dict[str, str]):
        self.kind = kind
        self._table = dict(table)

    def names(self) -> list[str]:
        """Registered names in table order (the order CLI help and quickstart use)."""
        return list(self._table)

    def __contains__(self, name: object) -> bool:
        return name in self._table

    def register(self, name: str, target: str) -> None:
        if name in self._table:
            raise DpbenchError(f"{self.kind} {name!r} is already registered (as {self._table[name]})")
        self._table[name] = target

    def check_name(self, name: str, flag: str | None = None) -> str:
        """`name` if registered, else DpbenchError listing the choices (and the closest one)."""
        if name not in self._table:
            close = difflib.get_close_matches(name, self._table, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            where = f"{flag} {name!r}" if flag else f"unknown {self.kind} {name!r}"
            raise DpbenchError(f"{where}: choose one of {', '.join(self.names())}.{hint}")
        return name

    def get(self, name: str) -> T:
        self.check_name(name)
        module, _, attr = self._table[name].partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj

    def help(self) -> str:
        return " | ".join(self.names())
