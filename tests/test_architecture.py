"""The layers point one way (library <- team layer <- dashboard) and no project module imports itself back.

Every import counts: module-level, inside functions, under ``TYPE_CHECKING``. Importing ``a.b.c`` also
runs the packages ``a`` and ``a.b``, so an import is an edge to them too (except to the importer's own
packages, which are already running).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from photos import ROOT

#: The project's packages, lowest layer first; a package may import only those before it.
LAYERS = ("explainers", "explainers_team", "ui")
#: Third-party packages a layer must not import, and why.
FORBIDDEN = {
    "explainers": ("streamlit", "sqlalchemy", "alembic", "psycopg", "authlib", "plotly", "pandas", "statsmodels"),
    "explainers_team": ("streamlit", "plotly"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:  # Alembic's scripts are run by Alembic, not imported
                continue
            found[module_name(path)] = path
    for path in [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py"))]:
        found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports (absolute names), wherever the import statement is."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        targets = set()
        for imported in imports_of(name, path):
            parts = imported.split(".")
            for i in range(1, len(parts) + 1):
                candidate = ".".join(parts[:i])
                if candidate in modules and candidate != name and candidate not in own:
                    targets.add(candidate)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_among_the_projects_modules():
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_layers_point_one_way():
    """The library imports neither the team layer nor the dashboard; the team layer never imports the dashboard."""
    wrong = []
    for name, targets in graph().items():
        layer = name.split(".")[0]
        if layer not in LAYERS:
            continue  # the pages sit on top of everything
        allowed = LAYERS[:LAYERS.index(layer) + 1]
        wrong += [f"{name} -> {t}" for t in targets if t.split(".")[0] in LAYERS and t.split(".")[0] not in allowed]
    assert not wrong, wrong


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_does_not_import_what_it_must_not(layer):
    modules = {n: p for n, p in project_modules().items() if n.split(".")[0] == layer}
    wrong = [f"{name} imports {imported}" for name, path in modules.items() for imported in imports_of(name, path)
             if imported.split(".")[0].lower() in FORBIDDEN[layer]]
    assert not wrong, wrong


def test_importing_the_library_loads_no_web_or_database_code():
    code = ("import sys, explainers, explainers.evaluate, explainers.metrics, explainers.cli; "
            "bad = sorted(m for m in ('streamlit', 'sqlalchemy', 'alembic', 'psycopg', 'plotly', 'pandas', "
            "'statsmodels', 'explainers_team', 'ui') if m in sys.modules); assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)


def test_pages_stay_short_and_only_lay_out():
    """A page lays out what ``ui`` and the layers below compute: about 150 lines at most, a few ui modules."""
    for path in [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py"))]:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 150, f"{path.name} has {lines} lines"
        ui_modules = {t for t in imports_of(module_name(path), path) if t.startswith("ui.") and t.count(".") == 2}
        assert len(ui_modules) <= 6, f"{path.name} imports {len(ui_modules)} ui modules: {sorted(ui_modules)}"


def test_each_type_name_means_one_thing():
    """No two classes of the project share a name (a Condition, an Answer, a Param... is one type)."""
    seen: dict[str, str] = {}
    twice = []
    for name, path in project_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                if node.name in seen:
                    twice.append(f"{node.name}: {seen[node.name]} and {name}")
                seen[node.name] = name
    assert not twice, twice


def test_each_constant_is_defined_once():
    """A module-level constant (UPPER_CASE) is assigned in one module; the others import it."""
    seen: dict[str, str] = {}
    twice = []
    for name, path in project_modules().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) and node.value is not None else []
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper() and len(target.id) > 1:
                    if target.id in seen and seen[target.id] != name:
                        twice.append(f"{target.id}: {seen[target.id]} and {name}")
                    seen.setdefault(target.id, name)
    assert not twice, twice
