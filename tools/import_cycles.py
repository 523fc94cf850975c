"""Find import cycles among cnnspec modules, counting imports inside functions.

Lazy imports of torch and sympy are the only allowed deferrals and are skipped.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SKIP = ("torch", "sympy")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imported(mod: str, is_pkg: bool, tree: ast.AST, known: set[str]) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(mod, is_pkg, node)
            names = [f"{target}.{a.name}" for a in node.names] + [target]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != mod and name.split(".")[0] not in SKIP:
                out.add(name)
    return out


def graph(root: Path) -> dict[str, set[str]]:
    files = {module_name(root, p): p for p in root.rglob("*.py")}
    known = set(files)
    return {
        m: imported(m, p.name == "__init__.py", ast.parse(p.read_text()), known) for m, p in files.items()
    }


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "cnnspec")
    found = cycles(graph(root))
    for comp in found:
        print(" <-> ".join(comp))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
