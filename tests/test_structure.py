"""The package's shape, read from its source with ``ast``: short modules and functions, no import cycle, no
private name imported across modules, and a sorted ``__all__`` that lists every lazily loaded public name.

Each rule is a small function over a root directory and a package name. The tests at the top run them on
``genai_footprint``; the tests at the bottom run the same functions on small synthetic packages in ``tmp_path``,
so the rules themselves are checked. Only the ``__all__`` rule imports anything (the package, to resolve names).
"""

from __future__ import annotations

import ast
import importlib
import itertools
import sys
import textwrap
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "genai_footprint"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


# -- reading the package ----------------------------------------------------------------------------------


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package by dotted name; a package's ``__init__.py`` goes by the package's name."""
    found: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _where(root: Path, path: Path, line: int) -> str:
    return f"{path.relative_to(root).as_posix()}:{line}"


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@dataclass(frozen=True)
class Import:
    line: int
    base: str  # the module after ``from`` (relative imports resolved), or the module of ``import a.b``
    names: tuple[str, ...]  # what a ``from`` import takes from ``base``; empty for ``import a.b``
    runtime: bool  # False under ``if TYPE_CHECKING:``, which never runs


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str, path: Path) -> list[Import]:
    """Every import statement of a module, those inside functions and classes included."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(nodes: Iterable[ast.AST], runtime: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend(Import(node.lineno, alias.name, (), runtime) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # from .x import y: up level - 1 packages from this module's own package
                    parts = package.split(".")
                    base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
                found.append(Import(node.lineno, base, tuple(a.name for a in node.names), runtime))
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.body, False)
                visit(node.orelse, runtime)
            else:
                visit(ast.iter_child_nodes(node), runtime)

    visit(_parse(path).body, True)
    return found


# -- the rules ------------------------------------------------------------------------------------------


def module_length_problems(root: Path, path: Path) -> list[str]:
    """A module over the limit, counted in physical lines."""
    lines = len(path.read_bytes().splitlines())
    if lines <= MAX_MODULE_LINES:
        return []
    return [f"{_where(root, path, 1)}: the module has {lines} lines, more than {MAX_MODULE_LINES}"]


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method, nested ones and async ones included, with a qualified name."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.<locals>.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def function_length_problems(root: Path, path: Path) -> list[str]:
    """Functions over the limit, from the ``def`` line to the last line of the body (decorators left out)."""
    problems = []
    for name, node in _functions(_parse(path)):
        assert node.end_lineno is not None
        span = node.end_lineno - node.lineno + 1
        if span > MAX_FUNCTION_LINES:
            problems.append(
                f"{_where(root, path, node.lineno)}: {name}() spans {span} lines, more than {MAX_FUNCTION_LINES}"
            )
    return problems


def _targets(imp: Import, known: set[str]) -> list[str]:
    """The package modules an import statement is taken to depend on: the module it actually names.

    ``import a.b.c`` and ``from a.b import c`` (``c`` a module) also run ``a/__init__`` and ``a/b/__init__``,
    but no edge is drawn to those: this package's ``__init__`` files only re-export (the top one lazily), so
    an edge to each parent would make every module that imports a sibling look like part of a cycle through
    its package. ``from a.b import name`` (``name`` not a module) does depend on ``a.b`` itself."""
    if not imp.names:
        return [imp.base] if imp.base in known else []
    submodules = [f"{imp.base}.{name}" for name in imp.names if f"{imp.base}.{name}" in known]
    takes_attributes = len(submodules) < len(imp.names)  # a name defined in the module itself, or '*'
    return submodules + ([imp.base] if takes_attributes and imp.base in known else [])


def import_graph(root: Path, package: str) -> dict[str, dict[str, tuple[Path, int]]]:
    """Module -> the modules it imports, each with the file and line of the first statement that does.

    Only import statements make edges: ``importlib.import_module`` (the top ``__init__``'s lazy names) does not."""
    found = modules(root, package)
    graph: dict[str, dict[str, tuple[Path, int]]] = {name: {} for name in found}
    for name, path in found.items():
        for imp in imports(name, path):
            # Imports under `if TYPE_CHECKING:` are left out: they are for the type checker and never run, so
            # they cannot make a cycle at import time. Imports inside functions are in: they run when called.
            if not imp.runtime:
                continue
            for target in _targets(imp, set(found)):
                if target != name:
                    graph[name].setdefault(target, (path, imp.line))
    return graph


def _strongly_connected(graph: dict[str, dict[str, tuple[Path, int]]]) -> list[list[str]]:
    """Tarjan's algorithm: the graph's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _shortest_cycle(graph: dict[str, dict[str, tuple[Path, int]]], start: str, members: set[str]) -> list[str]:
    paths = {start: [start]}
    queue = [start]
    for node in queue:  # breadth first, within the component
        for target in sorted(graph[node]):
            if target == start:
                return [*paths[node], start]
            if target in members and target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"{start} is in no cycle")


def import_cycle_problems(root: Path, package: str) -> list[str]:
    """One message per group of modules that import each other: a shortest cycle, with each import's line."""
    graph = import_graph(root, package)
    problems = []
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        cycle = _shortest_cycle(graph, component[0], set(component))
        steps = "; ".join(f"{_where(root, *graph[a][b])} imports {b}" for a, b in itertools.pairwise(cycle))
        problems.append(
            f"import cycle {' -> '.join(cycle)}: {steps} (the modules that import each other: {', '.join(component)})"
        )
    return problems


def private_import_problems(root: Path, package: str, module: str) -> list[str]:
    """``from <package module> import _name`` where ``_name`` is not a submodule (nor a dunder).

    Type-only imports count too: they tie a module to another's private names all the same."""
    found = modules(root, package)
    problems = []
    for imp in imports(module, found[module]):
        if imp.base != package and not imp.base.startswith(f"{package}."):
            continue
        for name in imp.names:
            dunder = name.startswith("__") and name.endswith("__")
            if name.startswith("_") and not dunder and f"{imp.base}.{name}" not in found:
                problems.append(
                    f"{_where(root, found[module], imp.line)}: imports the private name {name} from {imp.base}"
                )
    return problems


def _assigned(tree: ast.Module, name: str) -> ast.expr | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return node.value
    return None


def _load(root: Path, package: str) -> ModuleType:
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(package)
    finally:
        sys.path.remove(str(root))
    assert Path(module.__file__ or "").resolve() == (root / package / "__init__.py").resolve(), module.__file__
    return module


def export_problems(root: Path, package: str) -> list[str]:
    """``__all__`` sorted, without repeats, every name in it resolving; every public ``_LAZY`` name in it."""
    init = root / package / "__init__.py"
    tree = _parse(init)
    listed = _assigned(tree, "__all__")
    if listed is None:
        return [f"{_where(root, init, 1)}: no __all__"]
    lines = {e.value: e.lineno for e in getattr(listed, "elts", []) if isinstance(e, ast.Constant)}
    module = _load(root, package)
    names = list(module.__all__)
    line = {name: lines.get(name, listed.lineno) for name in names}
    problems = []
    if names != sorted(names):
        first = next(i for i, (a, b) in enumerate(zip(names, sorted(names), strict=True)) if a != b)
        problems.append(
            f"{_where(root, init, line[names[first]])}: __all__ is not sorted: {names[first]!r} where "
            f"{sorted(names)[first]!r} belongs"
        )
    problems += [
        f"{_where(root, init, line[n])}: __all__ lists {n!r} twice" for n in sorted(set(names)) if names.count(n) > 1
    ]
    for name in names:
        try:
            getattr(module, name)
        except Exception as error:  # an AttributeError, or the lazy import failing
            problems.append(
                f"{_where(root, init, line[name])}: __all__ lists {name!r}, which does not resolve: {error!r}"
            )
    lazy = _assigned(tree, "_LAZY")
    for key in lazy.keys if isinstance(lazy, ast.Dict) else []:
        if isinstance(key, ast.Constant) and not str(key.value).startswith("_") and key.value not in names:
            problems.append(
                f"{_where(root, init, key.lineno)}: {key.value!r} is loaded lazily (_LAZY) but not in __all__"
            )
    return problems


# -- genai_footprint ---------------------------------------------------------------------------------------

MODULES = modules(ROOT, PACKAGE)
IDS = [path.relative_to(ROOT).as_posix() for path in MODULES.values()]


@pytest.mark.parametrize("path", MODULES.values(), ids=IDS)
def test_module_is_short(path: Path) -> None:
    problems = module_length_problems(ROOT, path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", MODULES.values(), ids=IDS)
def test_functions_are_short(path: Path) -> None:
    problems = function_length_problems(ROOT, path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_no_private_name_imported_from_another_module(module: str) -> None:
    problems = private_import_problems(ROOT, PACKAGE, module)
    assert not problems, "\n".join(problems)


def test_no_import_cycle() -> None:
    problems = import_cycle_problems(ROOT, PACKAGE)
    assert not problems, "\n".join(problems)


def test_all_is_sorted_resolves_and_lists_every_lazy_name() -> None:
    problems = export_problems(ROOT, PACKAGE)
    assert not problems, "\n".join(problems)


# -- the rules, on synthetic packages ------------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _function(name: str, span: int, indent: str = "", keyword: str = "def") -> str:
    """A function whose ``def`` line and body span ``span`` lines."""
    return f"{indent}{keyword} {name}():\n" + "".join(f"{indent}    x = {i}\n" for i in range(span - 1))


def test_module_length_rule(tmp_path: Path) -> None:
    _write(tmp_path, {"pkg/__init__.py": "", "pkg/_ok.py": "x = 1\n" * 500, "pkg/_long.py": "x = 1\n" * 501})
    found = modules(tmp_path, "pkg")
    assert set(found) == {"pkg", "pkg._ok", "pkg._long"}
    problems = [p for path in found.values() for p in module_length_problems(tmp_path, path)]
    assert problems == ["pkg/_long.py:1: the module has 501 lines, more than 500"]


def test_function_length_rule(tmp_path: Path) -> None:
    source = (
        _function("fits", 60)
        + "@decorator\n@decorator\n"
        + _function("decorated_fits", 60)
        + "class C:\n"
        + _function("method", 61, "    ")
        + _function("amethod", 61, "    ", "async def")
        + "def outer():\n"
        + _function("inner", 61, "    ")
    )
    path = _write(tmp_path, {"pkg/_m.py": source}) / "pkg/_m.py"
    lines = source.splitlines()
    at = {line.split("(")[0].split()[-1]: n for n, line in enumerate(lines, 1) if "def " in line}
    assert sorted(function_length_problems(tmp_path, path)) == sorted(
        [
            f"pkg/_m.py:{at['method']}: C.method() spans 61 lines, more than 60",
            f"pkg/_m.py:{at['amethod']}: C.amethod() spans 61 lines, more than 60",
            f"pkg/_m.py:{at['outer']}: outer() spans 62 lines, more than 60",
            f"pkg/_m.py:{at['inner']}: outer.<locals>.inner() spans 61 lines, more than 60",
        ]
    )


CYCLES = {
    # An import of a submodule is an edge to that submodule only, not to the packages above it: no cycle here.
    "pkg/__init__.py": "from pkg import _a\n",
    "pkg/_a.py": "import pkg._b\n",
    "pkg/_b.py": "import os\n",
    # A cycle closed by an import inside a function, written as a relative from-import of a sibling module.
    "pkg/_c.py": "from pkg import _d\n",
    "pkg/_d.py": "import json\n\n\ndef late():\n    from . import _c\n",
    # A type-only import does not run: no cycle.
    "pkg/_e.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg._f import F\nE = 1\n",
    "pkg/_f.py": "from pkg._e import E\nF = E\n",
    # A subpackage's module importing a name of a parent's module, which imports it back as a submodule.
    "pkg/_sub/__init__.py": "",
    "pkg/_sub/_g.py": "from .._h import thing\n",
    "pkg/_h.py": "from pkg._sub import _g\nthing = 1\n",
}


def test_import_graph(tmp_path: Path) -> None:
    graph = import_graph(_write(tmp_path, CYCLES), "pkg")
    edges = {name: {target: line for target, (_, line) in targets.items()} for name, targets in graph.items()}
    assert edges == {
        "pkg": {"pkg._a": 1},
        "pkg._a": {"pkg._b": 1},
        "pkg._b": {},
        "pkg._c": {"pkg._d": 1},
        "pkg._d": {"pkg._c": 5},
        "pkg._e": {},
        "pkg._f": {"pkg._e": 1},
        "pkg._sub": {},
        "pkg._sub._g": {"pkg._h": 1},
        "pkg._h": {"pkg._sub._g": 1},
    }


def test_import_cycle_rule(tmp_path: Path) -> None:
    files = {**CYCLES, "pkg/_x.py": "from pkg._y import y\nx = 1\n", "pkg/_y.py": "import pkg._z\ny = 1\n"}
    files["pkg/_z.py"] = "from pkg import _x\n"  # a cycle of three
    assert sorted(import_cycle_problems(_write(tmp_path, files), "pkg")) == [
        "import cycle pkg._c -> pkg._d -> pkg._c: pkg/_c.py:1 imports pkg._d; pkg/_d.py:5 imports pkg._c "
        "(the modules that import each other: pkg._c, pkg._d)",
        "import cycle pkg._h -> pkg._sub._g -> pkg._h: pkg/_h.py:1 imports pkg._sub._g; pkg/_sub/_g.py:1 imports "
        "pkg._h (the modules that import each other: pkg._h, pkg._sub._g)",
        "import cycle pkg._x -> pkg._y -> pkg._z -> pkg._x: pkg/_x.py:1 imports pkg._y; pkg/_y.py:1 imports pkg._z; "
        "pkg/_z.py:1 imports pkg._x (the modules that import each other: pkg._x, pkg._y, pkg._z)",
    ]


def test_private_import_rule(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/_a.py": "__version__ = '1'\npublic = 1\n_helper = 2\n",
        "pkg/_sub/__init__.py": "",
        "pkg/_sub/_mod.py": "",
        "pkg/_b.py": """\
            from pkg._a import _helper, public
            from pkg import _a
            from pkg._a import __version__
            from pkg._sub import _mod
            from ._a import _helper as helper
            from os import _exit
            def f():
                from pkg._a import _late
            """,
    }
    _write(tmp_path, files)
    assert private_import_problems(tmp_path, "pkg", "pkg._b") == [
        "pkg/_b.py:1: imports the private name _helper from pkg._a",
        "pkg/_b.py:5: imports the private name _helper from pkg._a",
        "pkg/_b.py:8: imports the private name _late from pkg._a",
    ]
    assert private_import_problems(tmp_path, "pkg", "pkg._a") == []


LAZY_INIT = textwrap.dedent(
    """\
    import importlib

    __all__ = {all}
    _LAZY = {lazy}
    A = 1


    def __getattr__(name):
        if name not in _LAZY:
            raise AttributeError(name)
        return getattr(importlib.import_module(_LAZY[name]), name)
    """
)


@pytest.fixture
def package_name() -> Iterator[str]:
    """A package name of the test's own, since the export rule imports the package; unloaded afterwards."""
    name = f"synthetic_{uuid.uuid4().hex[:12]}"
    yield name
    for loaded in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[loaded]


def test_export_rule_passes_a_sound_package(tmp_path: Path, package_name: str) -> None:
    init = LAZY_INIT.format(all='["A", "__version__", "b"]', lazy=f'{{"b": "{package_name}._m"}}')
    files = {"__init__.py": init + "__version__ = '1'\n", "_m.py": "b = 2\n"}
    _write(tmp_path, {f"{package_name}/{name}": text for name, text in files.items()})
    assert export_problems(tmp_path, package_name) == []


def test_export_rule(tmp_path: Path, package_name: str) -> None:
    lazy = f'{{\n    "b": "{package_name}._m",\n    "c": "{package_name}._m",\n    "_d": "{package_name}._m",\n}}'
    init = LAZY_INIT.format(all='["b", "A", "missing", "A"]', lazy=lazy)
    files = {"__init__.py": init, "_m.py": "b = c = _d = 2\n"}
    _write(tmp_path, {f"{package_name}/{name}": text for name, text in files.items()})
    assert export_problems(tmp_path, package_name) == [
        f"{package_name}/__init__.py:3: __all__ is not sorted: 'b' where 'A' belongs",
        f"{package_name}/__init__.py:3: __all__ lists 'A' twice",
        f"{package_name}/__init__.py:3: __all__ lists 'missing', which does not resolve: AttributeError('missing')",
        f"{package_name}/__init__.py:6: 'c' is loaded lazily (_LAZY) but not in __all__",
    ]
