"""The house stays readable: no import circle anywhere in dpbench (lazy imports inside functions
included), no module outside dpbench/run/ writes a run directory, nothing cites notes that a clone of
the repository does not hold."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "dpbench"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != name:
                    graph[name].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_no_import_circle():
    graph = import_graph()
    assert len(graph) > 60
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_a_planted_circle_is_found():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_only_the_run_store_writes_run_directory_files():
    pattern = re.compile(r"""(PREDICTIONS|MANIFEST|EXAMPLE_IDS|["']manifest\.json["']|["']predictions\.jsonl["'])""")
    writers = re.compile(r"write_text|write_bytes|open\([^)]*['\"][aw]")
    offenders = []
    for p in PKG.rglob("*.py"):
        if p.parent.name == "run" and p.parent.parent == PKG:
            continue
        for lineno, line in enumerate(p.read_text().splitlines(), 1):
            if pattern.search(line) and writers.search(line):
                offenders.append(f"{p.relative_to(ROOT)}:{lineno}")
    assert offenders == []


def test_nothing_cites_notes_outside_the_repository():
    hits = []
    for p in [ROOT / "README.md", *PKG.rglob("*.py"), *(ROOT / "docs").rglob("*.md")]:
        for lineno, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(r"SPEC ?§|SPEC\.md|ARCHITECTURE", line):
                hits.append(f"{p.relative_to(ROOT)}:{lineno}: {line.strip()[:80]}")
    assert hits == []
