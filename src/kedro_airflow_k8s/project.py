"""Kedro in: one snapshot of the project per command.

:func:`load_project` opens a Kedro session once and reads everything the later stages need —
the plugin config (through the project's config loader), pipelines and nodes, dataset types as
configured in the catalog (no dataset is instantiated), parameters and the git commit — into
plain data (:mod:`kedro_airflow_k8s.snapshot`).
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import sys
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kedro_airflow_k8s.config import (
    PluginConfig,
    legacy_config_notes,
    parse_config,
    read_raw_config,
)
from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.git import git_output
from kedro_airflow_k8s.mlflow_settings import MlflowSettings, read_mlflow_settings
from kedro_airflow_k8s.snapshot import (
    DatasetSource,
    DatasetSpec,
    NodeSpec,
    PipelineSpec,
    ProjectSnapshot,
)


@dataclass(frozen=True)
class LoadedProject:
    """What a command gets from the project: the snapshot and the validated plugin config."""

    snapshot: ProjectSnapshot
    config: PluginConfig
    mlflow: MlflowSettings | None = None  # the project's kedro-mlflow settings, when it uses it
    notes: tuple[str, ...] = ()  # about the config files (an old file name, say)


def load_project(
    project_path: Path, env: str, pipeline_names: Iterable[str] | None = None
) -> LoadedProject:
    """Open the Kedro project once and take its snapshot (``pipeline_names``: those to keep)."""
    import kedro
    from kedro.framework.project import pipelines as registry
    from kedro.framework.project import settings as project_settings
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    metadata = bootstrap_project(project_path)
    git = GitInfo(project_path)
    disabled = tuple(project_settings.DISABLE_HOOKS_FOR_PLUGINS)
    # kedro-mlflow's hook would contact the tracking server while the session starts: compiling
    # reads its config, it never tracks anything.
    project_settings.set("DISABLE_HOOKS_FOR_PLUGINS", (*disabled, "kedro_mlflow", "kedro-mlflow"))
    try:
        session_manager = KedroSession.create(project_path=project_path, env=env)
    finally:
        project_settings.set("DISABLE_HOOKS_FOR_PLUGINS", disabled)
    with warnings.catch_warnings(), session_manager as session:
        # Kedro's own use of an OmegaConf API deprecated upstream: nothing a user can act on.
        warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated")
        context: Any = session.load_context()  # type: ignore[attr-defined]
        loader = context.config_loader
        config = parse_config(read_raw_config(loader, git.fallbacks()))
        notes = tuple(legacy_config_notes(loader))
        mlflow = read_mlflow_settings(
            loader, package_name=metadata.package_name, disabled_plugins=disabled
        )
        wanted = list(pipeline_names) if pipeline_names is not None else list(registry)
        pipelines = {name: _pipeline_spec(name, registry) for name in wanted}
        catalog_config = _catalog_config(loader)
        parameters = dict(context.params)
    used = {ds for p in pipelines.values() for n in p.nodes for ds in (*n.inputs, *n.outputs)}
    snapshot = ProjectSnapshot(
        project_name=metadata.project_name,
        package_name=metadata.package_name,
        project_path=str(project_path),
        env=env,
        kedro_version=kedro.__version__,
        pipelines=pipelines,
        datasets=describe_datasets(sorted(used), catalog_config),
        parameters=parameters,
        commit_sha=git.commit(),
        branch=git.branch(),
    )
    return LoadedProject(snapshot=snapshot, config=config, mlflow=mlflow, notes=notes)


def _pipeline_spec(name: str, registry: Mapping[str, Any]) -> PipelineSpec:
    try:
        pipeline = registry[name]
    except KeyError:
        known = ", ".join(sorted(registry)) or "none"
        raise PluginError(f"pipeline {name!r} is not registered (known: {known})") from None
    return pipeline_spec(name, pipeline)


def pipeline_spec(name: str, pipeline: Any) -> PipelineSpec:
    """Describe a Kedro pipeline as plain data, with the dependencies Kedro computes itself.

    ``Pipeline.node_dependencies`` is the graph ``kedro run`` follows; the transcoded names
    (``table@spark``, ``table@pandas``) are mapped to their dataset by Kedro's own function.
    """
    from kedro.pipeline.transcoding import _strip_transcoding

    nodes = tuple(pipeline.nodes)
    dependencies = {
        child.name: tuple(sorted(parent.name for parent in parents))
        for child, parents in pipeline.node_dependencies.items()
    }
    used = {dataset for n in nodes for dataset in (*n.inputs, *n.outputs)}
    transcoded = {
        dataset: base for dataset in used if (base := _strip_transcoding(dataset)) != dataset
    }
    return PipelineSpec(
        name=name,
        nodes=tuple(node_spec(n) for n in nodes),
        dependencies=dependencies,
        transcoded=transcoded,
    )


def node_spec(node: Any) -> NodeSpec:
    """Describe a Kedro node as plain data."""
    func = node.func
    return NodeSpec(
        name=node.name,
        inputs=tuple(node.inputs),
        outputs=tuple(node.outputs),
        tags=tuple(sorted(node.tags)),
        namespace=node.namespace,
        func=f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}",
        annotations=describe_annotations(func),
    )


def _catalog_config(loader: Any) -> dict[str, Any]:
    from kedro.config import MissingConfigException

    try:
        return dict(loader["catalog"] or {})
    except MissingConfigException:
        return {}


# --- datasets ------------------------------------------------------------------------------------


def describe_datasets(
    names: Iterable[str], catalog_config: Mapping[str, Any]
) -> dict[str, DatasetSpec]:
    """Say for each dataset name whether and how the catalog config defines it."""
    from kedro.io.catalog_config_resolver import CatalogConfigResolver

    entries = {
        k: v for k, v in catalog_config.items() if isinstance(v, Mapping) and not k.startswith("_")
    }
    types_only = {k: {"type": v.get("type")} for k, v in entries.items()}
    resolver = CatalogConfigResolver(config=types_only, default_runtime_patterns={})
    result: dict[str, DatasetSpec] = {}
    for name in names:
        if name == "parameters" or name.startswith("params:"):
            result[name] = DatasetSpec(name, DatasetSource.PARAMS)
        elif name in entries and "{" not in name:
            result[name] = DatasetSpec(name, DatasetSource.ENTRY, _type_name(entries[name]))
        else:
            pattern = resolver.match_dataset_pattern(name) or resolver.match_user_catch_all_pattern(
                name
            )
            if pattern is None:
                result[name] = DatasetSpec(name, DatasetSource.NONE)
            else:
                result[name] = DatasetSpec(
                    name, DatasetSource.FACTORY, _type_name(entries[pattern]), pattern
                )
    return result


def _type_name(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("type")
    if isinstance(value, str):
        return value
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return None


# --- function annotations ------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def describe_annotations(func: Callable[..., Any]) -> tuple[tuple[str, str], ...]:
    """The function's annotations as strings, names qualified by the module they come from.

    Works on postponed (string) annotations without evaluating them, so a type that is only
    imported under ``TYPE_CHECKING`` (pyspark, say) is never imported here.
    """
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func
    target = inspect.unwrap(target)
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = type(target).__call__  # a callable object: its __call__ method
    raw = getattr(target, "__annotations__", None) or {}
    namespace = getattr(target, "__globals__", {}) or {}
    imported = _module_imports(getattr(target, "__module__", None))
    out = []
    for name, annotation in raw.items():
        out.append((name, qualify_annotation(annotation, namespace, imported)))
    return tuple(out)


@cache
def _module_imports(module_name: str | None) -> Mapping[str, str]:
    """Names bound by the import statements of a module's source (also under TYPE_CHECKING)."""
    module = sys.modules.get(module_name or "")
    try:
        tree = ast.parse(inspect.getsource(module)) if module else None
    except (OSError, TypeError, SyntaxError):
        tree = None
    found: dict[str, str] = {}
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def qualify_annotation(
    annotation: Any, namespace: Mapping[str, Any], imported: Mapping[str, str] | None = None
) -> str:
    """An annotation as text, its names qualified through the function's module."""
    if isinstance(annotation, str):
        return _NAME.sub(lambda m: _qualify_name(m.group(0), namespace, imported or {}), annotation)
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return f"{annotation.__module__}.{annotation.__qualname__}"
    text = repr(annotation)
    return text.replace("<class '", "").replace("'>", "")


def _qualify_name(dotted: str, namespace: Mapping[str, Any], imported: Mapping[str, str]) -> str:
    head, _, rest = dotted.partition(".")
    if head not in namespace:
        if head in imported:
            return f"{imported[head]}.{rest}" if rest else imported[head]
        return dotted
    value = namespace[head]
    if inspect.ismodule(value):
        base = value.__name__
    elif isinstance(value, type):
        base = f"{value.__module__}.{value.__qualname__}"
    else:
        origin = getattr(value, "__module__", None)
        name = getattr(value, "__qualname__", None) or getattr(value, "_name", None)
        if not (origin and name):
            return dotted
        base = f"{origin}.{name}"
    return f"{base}.{rest}" if rest else base


# --- git -----------------------------------------------------------------------------------------


class GitInfo:
    """Commit and branch of the project's git checkout, read lazily and at most once."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def fallbacks(self) -> dict[str, Callable[[], str | None]]:
        return {"commit_id": self.commit, "branch_name": self.branch}

    def commit(self) -> str | None:
        return _git(str(self._path), "rev-parse", "HEAD")

    def branch(self) -> str | None:
        name = _git(str(self._path), "rev-parse", "--abbrev-ref", "HEAD")
        return None if name == "HEAD" else name


@cache
def _git(path: str, *args: str) -> str | None:
    return git_output(path, *args)
