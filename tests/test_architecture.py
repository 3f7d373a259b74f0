"""The package's imports run one way, down the flow (docs/architecture.md): project in -> config
and snapshot -> plan (pure) -> render (pure text) -> ship -> operate, the CLI a thin shell on top.

Every import statement counts: at the top of a module, inside a function (lazy) or under
``TYPE_CHECKING``. The rules:

* the runtime (embedded into every DAG file) imports nothing of the plugin: only the SPEC's types
  (``runtime/spec.py``), under ``TYPE_CHECKING`` and relatively, which the DAG file never runs;
* ``plan/`` imports no Kedro, and nothing of render, ship, operate or the Airflow API, and neither
  does any module of the package it imports (it is pure: a snapshot in, a plan out);
* ``render/`` imports nothing of ship, operate or the Airflow API;
* of the features, the plan reaches their config keys at most (``features/<feature>/config.py``),
  never their compile side;
* a feature's home (``features/<feature>/``) imports nothing of operate, the Airflow API, the
  commands or the CLI, and of another feature its config keys only (``features/registry.py``
  lists them all, ``features/api.py`` is the interface they implement);
* ``stages.py`` names no feature: it asks every feature the same (``features/registry.py``);
* nothing imports the CLI.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PACKAGE = "kedro_airflow_k8s"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name relative to it ("" is the package)."""
    out = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


@dataclass(frozen=True)
class Import:
    module: str  # the package's module ("x.y", relative to the package) or an outside one
    line: int
    inside: bool  # a module of the package
    typing_only: bool  # under ``if TYPE_CHECKING:``
    relative: bool


def _typing_only_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for inner in ast.walk(child):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        lines.add(inner.lineno)
    return lines


def _inside(dotted: str) -> str | None:
    if dotted == PACKAGE:
        return ""
    if dotted.startswith(PACKAGE + "."):
        return dotted[len(PACKAGE) + 1 :]
    return None


def _resolved(module: str, name: str) -> str:
    """``from module import name``: the submodule when ``name`` is one, else ``module``."""
    child = f"{module}.{name}".strip(".")
    return child if child in MODULES else module


@cache
def imports_of(name: str) -> tuple[Import, ...]:
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    typing_only = _typing_only_lines(tree)
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    out: list[Import] = []
    for node in ast.walk(tree):
        only = node.lineno in typing_only if isinstance(node, ast.stmt) else False
        if isinstance(node, ast.Import):
            for alias in node.names:
                inside = _inside(alias.name)
                module = inside if inside is not None else alias.name
                out.append(Import(module, node.lineno, inside is not None, only, False))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved inside the package
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *(node.module or "").split(".")]).strip(".")
                out += [
                    Import(_resolved(module, a.name), node.lineno, True, only, True)
                    for a in node.names
                ]
                continue
            inside = _inside(node.module or "")
            if inside is None:
                out.append(Import(node.module or "", node.lineno, False, only, False))
            else:
                out += [
                    Import(_resolved(inside, a.name), node.lineno, True, only, False)
                    for a in node.names
                ]
    return tuple(out)


def _under(name: str, folder: str) -> bool:
    return name == folder or name.startswith(folder + ".")


def reached_from(start: str) -> Iterator[str]:
    """The package's modules ``start`` imports, directly or through others (itself included)."""
    seen, todo = {start}, [start]
    while todo:
        name = todo.pop()
        yield name
        for found in imports_of(name):
            if found.inside and found.module in MODULES and found.module not in seen:
                seen.add(found.module)
                todo.append(found.module)


def _by_folder(folder: str) -> list[str]:
    return sorted(name for name in MODULES if _under(name, folder))


def test_every_import_of_the_package_names_a_module() -> None:
    for name in MODULES:
        for found in imports_of(name):
            if found.inside:
                assert found.module in MODULES, f"{name}:{found.line} imports {found.module!r}"


@pytest.mark.parametrize("name", _by_folder("runtime"))
def test_the_runtime_imports_nothing_of_the_plugin(name: str) -> None:
    for found in imports_of(name):
        if found.inside:
            assert found.module == "runtime.spec" and found.typing_only and found.relative, (
                f"runtime module {name}:{found.line} imports {found.module!r}: the runtime is "
                "embedded into DAG files and may only name the SPEC's types under TYPE_CHECKING "
                "(from .spec import ...)"
            )


PLAN_MAY_NOT = ("render", "ship", "operate", "airflow_api", "stages", "cli")


@pytest.mark.parametrize("name", _by_folder("plan"))
def test_the_plan_is_pure(name: str) -> None:
    for module in reached_from(name):
        assert not any(_under(module, folder) for folder in PLAN_MAY_NOT), (
            f"{name} reaches {module}: the plan imports no later stage"
        )
        for found in imports_of(module):
            assert found.inside or found.module.split(".")[0] != "kedro", (
                f"{name} reaches Kedro ({module}:{found.line} imports {found.module}): the plan "
                "works on the snapshot, not on Kedro"
            )


def _feature_home(name: str) -> str | None:
    """``features.<feature>`` for a module of a feature's home, else None."""
    parts = name.split(".")
    if parts[0] != "features" or len(parts) < 2 or parts[1] in ("api", "registry"):
        return None
    return ".".join(parts[:2])


def _feature_config(name: str) -> bool:
    home = _feature_home(name)
    return home is not None and name in (home, f"{home}.config")


@pytest.mark.parametrize("name", _by_folder("plan"))
def test_the_plan_reaches_no_feature_s_compile_side(name: str) -> None:
    for module in reached_from(name):
        if _under(module, "features"):
            assert module == "features" or _feature_config(module), (
                f"{name} reaches {module}: the plan may know a feature's config keys only"
            )


FEATURES_MAY_NOT = ("operate", "airflow_api", "stages", "cli")


@pytest.mark.parametrize("name", _by_folder("features"))
def test_a_feature_home_imports_down_the_flow_and_no_other_feature(name: str) -> None:
    home = _feature_home(name)
    for found in imports_of(name):
        if not found.inside:
            continue
        assert not any(_under(found.module, folder) for folder in FEATURES_MAY_NOT), (
            f"{name}:{found.line} imports {found.module}: a feature's compile side comes before "
            "the commands"
        )
        other = _feature_home(found.module)
        if home is not None and other is not None and other != home:
            assert _feature_config(found.module), (
                f"{name}:{found.line} imports {found.module}: a feature may read another "
                "feature's config keys only"
            )


def test_the_stages_name_no_feature() -> None:
    for found in imports_of("stages"):
        if found.inside and _under(found.module, "features"):
            assert found.module in ("features.api", "features.registry"), (
                f"stages:{found.line} imports {found.module}: the commands ask every feature the "
                "same through features/registry.py"
            )


@pytest.mark.parametrize("name", _by_folder("render"))
def test_render_imports_no_shipping_nor_operating(name: str) -> None:
    for found in imports_of(name):
        if found.inside:
            assert not any(_under(found.module, f) for f in ("ship", "operate", "airflow_api")), (
                f"{name}:{found.line} imports {found.module}: rendering writes text only"
            )


def test_nothing_imports_the_cli() -> None:
    importers = [
        f"{name}:{found.line}"
        for name in MODULES
        for found in imports_of(name)
        if found.inside and found.module == "cli"
    ]
    assert importers == []


def test_the_import_reader_sees_every_kind_of_import() -> None:
    """Not vacuous: typing-only and relative imports, imports of Kedro, lazy imports inside
    functions (the spark feature imports its artifacts module in one) and the modules reached
    through others are all read."""
    assert any(
        f.module == "runtime.spec" and f.typing_only and f.relative
        for f in imports_of("runtime.volume")
    )
    assert any(f.module.startswith("kedro") and not f.inside for f in imports_of("project"))
    assert any(f.module == "features.spark.artifacts" for f in imports_of("features.spark.feature"))
    assert _feature_home("features.spark.spec") == "features.spark"
    assert _feature_config("features.spark.config") and not _feature_config("features.spark.spec")
    assert "snapshot" in set(reached_from("plan.build"))
    assert "names" in set(reached_from("plan"))
