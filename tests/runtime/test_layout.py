"""The runtime's layout: imports run one way, gateway -> runtime, and nothing imports in a
circle. Read from the source (every import statement, including those inside functions and
``TYPE_CHECKING`` blocks), so a lazy import cannot hide a dependency."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
RUNTIME = "aigw.local"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[str]:
    """The aigw modules ``path`` imports (``from a import b`` counts as a and a.b)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _aigw_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in (SRC / "aigw").rglob("*.py")}


def _component(module: str) -> str:
    """The part of aigw a module belongs to: ``aigw.cli``, ``aigw.local``, ``aigw.client``…"""
    return ".".join(module.split(".")[:2])


def test_the_runtime_imports_nothing_of_the_gateway() -> None:
    """Given the runtime package, when its imports are read, then none leaves aigw.local:
    it runs anybody's SAM template and knows no tenant, key or pipeline."""
    modules = _aigw_modules()
    outside = sorted(
        f"{name} imports {imported}"
        for name, path in modules.items()
        if name == RUNTIME or name.startswith(RUNTIME + ".")
        for imported in _imports(path)
        if imported.startswith("aigw")
        and imported in modules
        and not (imported == RUNTIME or imported.startswith(RUNTIME + "."))
    )
    assert outside == []


def test_the_parts_of_aigw_import_each_other_in_one_direction_only() -> None:
    """Given every module of aigw, when the imports between its parts (cli, tenants,
    local_gateway, local, providers, client) are followed, then no path leads back."""
    modules = _aigw_modules()
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        for imported in _imports(path):
            if imported in modules and _component(imported) != _component(name):
                edges.setdefault(_component(name), set()).add(_component(imported))

    cycles = []

    def visit(component: str, path: list[str]) -> None:
        for target in sorted(edges.get(component, ())):
            if target in path:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            else:
                visit(target, [*path, target])

    for component in sorted(edges):
        visit(component, [component])
    assert cycles == []
    assert "aigw.local_gateway" in edges and RUNTIME in edges["aigw.local_gateway"]
