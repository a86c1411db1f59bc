"""The shape of the house (DESIGN.md, docs/develop.md), read from the code with ast: nothing is imported.

(a) no loose modules at the top of src/layerwise beyond __init__, errors, atomic and cli;
(b) no private name (`_x`) of another module: not imported (src/ and tests/), not reached as an
    attribute of an imported name, and no `trainer._x` / `predictor._x` / `experiment._x` in src/
    outside the file that defines the class;
(c) no import cycle between packages;
(d) a package imports only from the floors below its own (a sibling only where SIBLINGS says why);
(e) no branch on the kind of problem (`task.type == "forecast"`) outside tasks/, data/ and
    evaluation/, but in the few files ALLOW names with a reason.

Every import counts: at module level, inside a function, under TYPE_CHECKING. A failure lists
each offending file:line, so one run shows everything there is to fix.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "layerwise"
TESTS = ROOT / "tests"

TOP_LEVEL_MODULES = ("__init__.py", "atomic.py", "cli.py", "errors.py")

# The floors, lowest first: a package imports only from floors below its own. `layerwise` is the
# package itself (__init__.py: __version__ and the public names, which it loads lazily by name),
# so importing it loads nothing above the ground floor.
FLOORS: dict[str, int] = {
    "layerwise": 0,
    "errors": 0,
    "atomic": 0,
    "data": 1,
    "models": 1,
    "evaluation": 1,
    "config": 2,
    "training": 3,
    "tasks": 4,
    "bundle": 5,
    "tuning": 6,
    "explain": 6,
    "report": 6,
    "serving": 6,
    "sklearn": 6,
    "experiment": 7,
    "cli": 8,
    "reference": 9,  # generates docs/reference/ from the schema, the errors and the command line
}
# Imports between two packages of one floor, each with its reason; any other is refused.
SIBLINGS: dict[tuple[str, str], str] = {
    ("report", "explain"): "a report shows the run's explanations",
    ("layerwise", "errors"): "the package re-exports the error classes",
    ("atomic", "errors"): "a failed write is a LayerwiseError",
}

# A branch on the kind of problem: `task.type == "forecast"`, `kind in ("images", "text")`.
KIND_BRANCH = re.compile(
    r"""(type|task|kind)\w*\s*(==|!=|in|not in)\s*\(?\s*"""
    r"""["'](forecast|classification|regression|generation|images?|text)["']"""
)
KIND_HOMES = ("tasks", "data", "evaluation")  # tasks/ is the kinds; readers and metrics may differ by kind
ALLOW: dict[str, str] = {  # "src/layerwise/<file>": why it must tell kinds apart. Kept short.
    "src/layerwise/config/schema.py": "the schema's cross-key checks on task.type values when a config is read "
    "(config/ sits below tasks/ and cannot ask one)",
}

# `trainer._x` is the Trainer's private state: only its own file may touch it.
OWNERS = {"trainer": "training/trainer.py", "predictor": "bundle/predictor.py", "experiment": "experiment/run.py"}


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    module: str  # the module imported from, absolute: layerwise.tasks.base, docs_examples, torch.nn
    name: str | None  # the name taken from it (`from module import name`); None for `import module`

    @property
    def where(self) -> str:
        return f"{_shown(self.file)}:{self.line}"


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def module_of(path: Path, src: Path = SRC) -> str | None:
    """`src/layerwise/tasks/base.py` -> `layerwise.tasks.base` (a package's __init__: the package);
    None outside src (a test file)."""
    if not path.is_relative_to(src):
        return None
    parts = (src.name, *path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    """`layerwise.tasks.base` -> `tasks`; `layerwise.errors` -> `errors`; `layerwise` -> `layerwise`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def source_of(node: ast.Import | ast.ImportFrom, alias: ast.alias, path: Path, module: str | None) -> str:
    """The absolute module an import reads from; a relative one resolved against `module`."""
    if isinstance(node, ast.Import):
        return alias.name
    if not node.level:
        return node.module or ""
    assert module is not None, f"{path}:{node.lineno}: a relative import outside src"
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


@functools.cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def imports(path: Path, src: Path = SRC) -> list[Import]:
    """Every import in the file, wherever it sits."""
    module = module_of(path, src)
    return [
        Import(
            path,
            node.lineno,
            source_of(node, alias, path, module),
            alias.name if isinstance(node, ast.ImportFrom) else None,
        )
        for node in ast.walk(parsed(path))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]


def is_private(name: str | None) -> bool:
    return bool(name) and name.startswith("_") and not name.startswith("__")


def is_project(module: str, src: Path = SRC) -> bool:
    """layerwise's own modules, and the tests' helpers (docs_examples, digit_images, conftest, ...),
    which pytest puts on the path by their stem."""
    return module.split(".")[0] == src.name or module in TEST_MODULES


def edges(files: list[Path], src: Path = SRC) -> list[tuple[str, str, Import]]:
    """(importing package, imported package, the import) for each import between two packages.

    `from .. import errors` imports the module layerwise.errors; `from .. import __version__`
    imports the package itself."""
    known = {module_of(f, src) for f in files}
    out = []
    for f in files:
        here = package_of(module_of(f, src))
        for imp in imports(f, src):
            if imp.module.split(".")[0] != src.name:
                continue
            target = f"{imp.module}.{imp.name}" if f"{imp.module}.{imp.name}" in known else imp.module
            if package_of(target) != here:
                out.append((here, package_of(target), imp))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = [stack.pop()]
            while component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def floor_breaches(found: list[tuple[str, str, Import]], package: str) -> list[str]:
    out = []
    for here, there, imp in found:
        if here != package:
            continue
        if there not in FLOORS:
            out.append(f"{imp.where}: {here} -> {there} ({there} has no floor)")
        elif FLOORS[there] > FLOORS[here] or (FLOORS[there] == FLOORS[here] and (here, there) not in SIBLINGS):
            out.append(f"{imp.where}: {here} (floor {FLOORS[here]}) -> {there} (floor {FLOORS[there]})")
    return out


def private_imports(path: Path, src: Path = SRC) -> list[str]:
    return [
        f"{imp.where}: from {imp.module} import {imp.name}"
        for imp in imports(path, src)
        if is_private(imp.name) and is_project(imp.module, src)
    ]


def private_reaches(path: Path, src: Path = SRC) -> list[str]:
    """`x._y` (or `x.z._y`) where `x` is bound by an import from the project: a module, class or function."""
    module = module_of(path, src)
    bound = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if is_project(source_of(node, alias, path, module), src):
                    bound.add(alias.asname or alias.name.split(".")[0])
    found = []
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in bound:
                found.append(f"{_shown(path)}:{node.lineno}: {ast.unparse(node)}")
    return found


def private_state(path: Path, src: Path = SRC) -> list[str]:
    """`trainer._x`, `predictor._x`, `experiment._x` outside the file that defines the class."""
    rel = path.relative_to(src).as_posix()
    return [
        f"{_shown(path)}:{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and is_private(node.attr)
        and node.value.id in OWNERS
        and OWNERS[node.value.id] != rel
    ]


def kind_branches(path: Path) -> list[str]:
    return [
        f"{_shown(path)}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if KIND_BRANCH.search(line)
    ]


def area_of(path: Path) -> str:
    """What a failure is reported under: `src/layerwise/<package or module>`, `tests/<folder>` or `tests`."""
    if path.is_relative_to(SRC):
        return f"src/layerwise/{path.relative_to(SRC).parts[0]}"
    parts = path.relative_to(TESTS).parts
    return f"tests/{parts[0]}" if len(parts) > 1 else "tests"


SRC_FILES = sorted(SRC.rglob("*.py"))
TEST_FILES = sorted(TESTS.rglob("*.py"))
TEST_MODULES = frozenset(f.stem for f in TEST_FILES)
PACKAGES = sorted({package_of(module_of(f)) for f in SRC_FILES})
AREAS = sorted({area_of(f) for f in (*SRC_FILES, *TEST_FILES)})
EDGES = edges(SRC_FILES)


def in_area(area: str) -> list[Path]:
    return [f for f in (*SRC_FILES, *TEST_FILES) if area_of(f) == area]


def in_package(package: str) -> list[Path]:
    return [f for f in SRC_FILES if package_of(module_of(f)) == package]


# ------------------------------------------------------------------------ (a) loose modules
def test_no_loose_top_level_modules():
    loose = sorted(p.name for p in SRC.glob("*.py") if p.name not in TOP_LEVEL_MODULES)
    assert not loose, (
        f"modules at the top of src/layerwise beyond {', '.join(TOP_LEVEL_MODULES)}: {loose}; "
        "move each into the package of its step (docs/develop.md: where a change goes)"
    )


def test_every_package_has_a_floor():
    missing = sorted(set(PACKAGES) - set(FLOORS))
    assert not missing, f"packages without a floor in FLOORS (tests/test_structure.py): {missing}"
    assert sorted(FLOORS) == PACKAGES, f"FLOORS names packages that are gone: {sorted(set(FLOORS) - set(PACKAGES))}"
    apart = [pair for pair in SIBLINGS if FLOORS[pair[0]] != FLOORS[pair[1]]]
    assert not apart, f"SIBLINGS pairs on different floors (an import down needs no entry): {apart}"


# ------------------------------------------------------------------------- (b) private names
@pytest.mark.parametrize("area", AREAS)
def test_no_private_name_is_imported_from_another_module(area):
    found = [hit for f in in_area(area) for hit in private_imports(f)]
    assert not found, (
        "private names imported from another module (make the name public, or keep its "
        "use in its own file):\n" + "\n".join(found)
    )


@pytest.mark.parametrize("area", AREAS)
def test_no_private_name_is_reached_through_an_import(area):
    found = [hit for f in in_area(area) for hit in private_reaches(f)]
    assert not found, "private names of another module reached through an import:\n" + "\n".join(found)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_private_state_of_trainer_predictor_or_experiment(package):
    found = [hit for f in in_package(package) for hit in private_state(f)]
    assert not found, (
        "private state used outside its class's file (make what is needed a public method "
        "or attribute):\n" + "\n".join(found)
    )


def test_each_owner_file_defines_its_class():
    for name, file in OWNERS.items():
        classes = [n.name for n in ast.walk(parsed(SRC / file)) if isinstance(n, ast.ClassDef)]
        assert name.capitalize() in classes, f"OWNERS[{name!r}]: {file} no longer defines {name.capitalize()}"


# ------------------------------------------------------------------------------- (c) cycles
def test_no_import_cycles_between_packages():
    graph: dict[str, set[str]] = {}
    for here, there, _ in EDGES:
        graph.setdefault(here, set()).add(there)
    lines = []
    for component in cycles(graph):
        lines.append(" <-> ".join(component))
        lines += [
            f"  {imp.where}: {here} -> {there}"
            for here, there, imp in EDGES
            if here in component and there in component
        ]
    assert not lines, "import cycles between packages:\n" + "\n".join(lines)


# ------------------------------------------------------------------------------- (d) floors
@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_from_below(package):
    found = floor_breaches(EDGES, package)
    assert not found, f"{package} imports from its own floor or above (docs/develop.md, the floors):\n" + "\n".join(
        found
    )


# --------------------------------------------------------------- (e) kind-of-problem branches
@pytest.mark.parametrize("package", [p for p in PACKAGES if p not in KIND_HOMES])
def test_no_kind_of_problem_branches_outside_tasks(package):
    files = in_package(package)
    found = [hit for f in files if _shown(f) not in ALLOW for hit in kind_branches(f)]
    assert not found, (
        "branches on the kind of problem outside tasks/, data/ and evaluation/ (ask the "
        "Task instead, tasks/base.py):\n" + "\n".join(found)
    )
    stale = [_shown(f) for f in files if _shown(f) in ALLOW and not (ALLOW[_shown(f)] and kind_branches(f))]
    assert not stale, f"ALLOW entries without a reason, or without a branch left to allow: {stale}"


# ---------------------------------------------------------- the checks see what they look for
def test_the_checks_find_planted_breaches(tmp_path):
    """On a small tree: relative imports resolve, and each check finds what it is for (a check that
    can see nothing would pass on any tree)."""
    src = tmp_path / "src" / "layerwise"
    files = {
        "__init__.py": "from .errors import LayerwiseError\n",
        "errors.py": "class LayerwiseError(Exception): ...\n",
        "tasks/__init__.py": "",
        "tasks/rows.py": (
            "from .. import errors, __version__\nfrom ..bundle import store\nfrom . import base as b\nb._hidden()\n"
        ),
        "tasks/base.py": (
            "def f(task):\n    if task.type == 'forecast':\n        from ..models.registry import _BLOCKS\n"
        ),
        "bundle/__init__.py": "",
        "bundle/store.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..tasks.rows import R\n",
        "experiment/run.py": "def go(trainer):\n    return trainer._net, trainer.net\n",
        "training/trainer.py": "def own(trainer):\n    return trainer._net\n",
    }
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text, encoding="utf-8")
    tree = sorted(src.rglob("*.py"))
    found = edges(tree, src)
    assert sorted({(a, b) for a, b, _ in found}) == [
        ("bundle", "tasks"),
        ("layerwise", "errors"),
        ("tasks", "bundle"),
        ("tasks", "errors"),
        ("tasks", "layerwise"),
        ("tasks", "models"),
    ]
    assert cycles({a: {b for x, b, _ in found if x == a} for a, _, _ in found}) == [["bundle", "tasks"]]
    assert floor_breaches(found, "tasks") == [f"{src / 'tasks/rows.py'}:2: tasks (floor 4) -> bundle (floor 5)"]
    assert floor_breaches(found, "layerwise") == []
    assert private_imports(src / "tasks/base.py", src) == [
        f"{src / 'tasks/base.py'}:3: from layerwise.models.registry import _BLOCKS"
    ]
    assert private_reaches(src / "tasks/rows.py", src) == [f"{src / 'tasks/rows.py'}:4: b._hidden"]
    assert private_state(src / "experiment/run.py", src) == [f"{src / 'experiment/run.py'}:2: trainer._net"]
    assert private_state(src / "training/trainer.py", src) == []
    assert kind_branches(src / "tasks/base.py") == [f"{src / 'tasks/base.py'}:2: if task.type == 'forecast':"]


@pytest.mark.parametrize(
    ("line", "branches"),
    [
        ('if task.type == "forecast":', True),
        ("elif cfg.task.type in ('classification', 'regression'):", True),
        ('kind = "images" if kind != "text" else kind', True),
        ("if task_type not in ('generation',):", True),
        ('if name == "forecast":', False),  # not a kind being told apart
        ('if task.type == "forecaster":', False),
        ('task = registry.get("rows")', False),
    ],
)
def test_the_kind_branch_pattern(line, branches):
    assert bool(KIND_BRANCH.search(line)) is branches
