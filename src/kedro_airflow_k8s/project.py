"""Kedro in: one snapshot of the project per command.

:func:`load_project` reads everything the later stages need, the way ``kedro run`` reads it
but without a Kedro session: the project's ``settings.py`` gives the config loader (its class,
arguments and configuration folder) and the pipeline registry; the plugin config is read through
that loader, the pipelines and nodes from the registry (Kedro's own dependencies and
transcoding), the dataset types from the catalog (no dataset is instantiated, credentials are
never read) and the git commit; all of it as plain data
(:mod:`kedro_airflow_k8s.snapshot`).

No session means no project hooks: compiling never runs ``after_context_created`` and friends
(a starter's hook that starts a SparkSession, kedro-mlflow's that contacts its server).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import re
import sys
import typing
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from kedro_airflow_k8s.catalog_config import read_catalog_types, unreadable_catalog_file
from kedro_airflow_k8s.collector import collector_paused
from kedro_airflow_k8s.config import (
    PluginConfig,
    legacy_config_notes,
    parse_config,
    read_raw_config,
)
from kedro_airflow_k8s.errors import ConfigError, PluginError
from kedro_airflow_k8s.features.mlflow.settings import MlflowSettings, read_mlflow_settings
from kedro_airflow_k8s.git import git_output
from kedro_airflow_k8s.snapshot import (
    DatasetSource,
    DatasetSpec,
    NodeSpec,
    PipelineSpec,
    ProjectSnapshot,
)


class LoadedProject(NamedTuple):
    """What a command gets from the project: the snapshot and the validated plugin config."""

    snapshot: ProjectSnapshot
    config: PluginConfig
    mlflow: MlflowSettings | None = None  # the project's kedro-mlflow settings, when it uses it
    notes: tuple[str, ...] = ()  # about the config files (an old file name, say)


def load_project(
    project_path: Path,
    env: str,
    pipeline_names: Iterable[str] | None = None,
    metadata: Any = None,
) -> LoadedProject:
    """Take the project's snapshot (``pipeline_names``: the pipelines to keep, all if None).

    ``metadata``: what Kedro's CLI got from ``bootstrap_project`` for this project, when it
    did; the project is bootstrapped here otherwise.
    """
    import kedro
    from kedro.framework.project import settings as project_settings

    metadata = bootstrapped(project_path, metadata)
    git = GitInfo(project_path)
    disabled = tuple(project_settings.DISABLE_HOOKS_FOR_PLUGINS)
    with warnings.catch_warnings():
        # Kedro's own use of an OmegaConf API deprecated upstream: nothing a user can act on.
        warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated")
        loader = config_loader(project_path, env)
        config = parse_config(read_raw_config(loader, git.fallbacks()))
        notes = list(legacy_config_notes(loader))
        mlflow = read_mlflow_settings(
            loader, package_name=metadata.package_name, disabled_plugins=disabled
        )
        wanted = None if pipeline_names is None else list(pipeline_names)
        pipelines, registry_notes = registered_pipelines(wanted, metadata.package_name)
        notes += registry_notes
        with collector_paused():  # see kedro_airflow_k8s.collector
            catalog_config = catalog_entries(loader, project_path)
    used = {ds for p in pipelines.values() for n in p.nodes for ds in (*n.inputs, *n.outputs)}
    with collector_paused():
        datasets = describe_datasets(sorted(used), catalog_config)
    snapshot = ProjectSnapshot(
        project_name=metadata.project_name,
        package_name=metadata.package_name,
        project_path=str(project_path),
        env=env,
        kedro_version=kedro.__version__,
        pipelines=pipelines,
        datasets=datasets,
        commit_sha=git.commit(),
        branch=git.branch(),
    )
    return LoadedProject(snapshot=snapshot, config=config, mlflow=mlflow, notes=tuple(notes))


def bootstrapped(project_path: Path, metadata: Any = None) -> Any:
    """The project's metadata, bootstrapping it unless Kedro's CLI already did (``metadata``
    then names this project and Kedro is configured for its package)."""
    from kedro.framework import project as kedro_project
    from kedro.framework.startup import bootstrap_project

    known_path = getattr(metadata, "project_path", None)
    package = getattr(metadata, "package_name", None)
    if (
        known_path is not None
        and package
        and package == kedro_project.PACKAGE_NAME
        and Path(known_path).resolve() == Path(project_path).resolve()
    ):
        return metadata
    return bootstrap_project(project_path)


def config_loader(project_path: Path, env: str) -> Any:
    """The project's config loader, made as a Kedro session makes it: ``settings.py``'s
    ``CONFIG_LOADER_CLASS`` with its ``CONFIG_LOADER_ARGS``, reading ``CONF_SOURCE``."""
    from kedro.framework.project import settings, validate_settings

    validate_settings()  # settings.py imports: its errors show here, as in a session
    conf_source = str(Path(project_path).resolve() / settings.CONF_SOURCE)
    return settings.CONFIG_LOADER_CLASS(
        conf_source=conf_source, env=env, runtime_params=None, **settings.CONFIG_LOADER_ARGS
    )


def _config_section(loader: Any, key: str) -> dict[str, Any]:
    """The loader's ``key`` config (``catalog``), empty when there is none."""
    from kedro.config import MissingConfigException

    try:
        return dict(loader[key] or {})
    except MissingConfigException:
        return {}
    except Exception as error:  # OmegaConf, YAML or duplicate-key errors: one line
        raise ConfigError(f"{key} config: {_first_line(error)}") from error


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split("\n")[0].split())
    return text or type(error).__name__


# --- pipelines -----------------------------------------------------------------------------------

_IMPORT_FAILED = re.compile(r"An error occurred while importing the '([^']+)' module")
_NOT_EXPOSED = re.compile(r"The '([^']+)' module does not expose a 'create_pipeline' function")
_NOT_A_PIPELINE = re.compile(
    r"Expected the 'create_pipeline' function in the '([^']+)' module to return a 'Pipeline'"
)


def registered_pipelines(
    wanted: Sequence[str] | None, package_name: str
) -> tuple[dict[str, PipelineSpec], list[str]]:
    """The ``wanted`` pipelines of the registry (all if None) as plain data, and notes on the
    pipeline modules ``find_pipelines()`` could not use.

    As ``kedro run --pipelines`` does, only the wanted pipelines are asked for (with
    ``find_pipelines()`` only their modules are imported). ``find_pipelines()`` only warns
    when a module fails: a pipeline asked for and missing is an error that gives the cause,
    and a module that failed otherwise is a note (its nodes are in no pipeline).
    """
    from kedro.framework.project import pipelines as registry

    if wanted is not None and not wanted:
        return {}, []
    request = getattr(registry, "set_requested", None)
    if request is not None:
        request(wanted)
    failures: dict[str, str] = {}
    with _registry_warnings(failures):
        found = _load_registry(registry, wanted)
    missing = [name for name in wanted or () if name not in found]
    if missing:
        if request is not None:  # list every registered pipeline, as kedro run does
            request(None)
        with _registry_warnings({}):
            known = ", ".join(sorted(_load_registry(registry, None))) or "none"
        name = missing[0]
        module = f"{package_name}.pipelines.{name}"
        cause = f": {module} {failures[module]}" if module in failures else ""
        raise PluginError(f"pipeline {name!r} is not registered{cause} (known: {known})")
    notes = [
        f"Kedro's find_pipelines() left out module {module}, which {why}: its nodes are in no "
        "pipeline"
        for module, why in failures.items()
    ]
    with collector_paused():  # see kedro_airflow_k8s.collector
        specs = {name: pipeline_spec(name, found[name]) for name in (wanted or list(found))}
    return specs, notes


def _load_registry(registry: Any, wanted: Sequence[str] | None) -> dict[str, Any]:
    # The project's own code raising here is reported by the CLI with the file and line.
    if wanted is None:
        return dict(registry.items())
    return {name: registry[name] for name in wanted if name in registry}


@contextlib.contextmanager
def _registry_warnings(failures: dict[str, str]) -> Iterator[None]:
    """Record the warnings of loading the registry; the ones about pipeline modules that
    ``find_pipelines()`` skipped go to ``failures`` (module -> why), the others are shown."""
    with warnings.catch_warnings(record=True) as caught:  # the filters stay as they are
        try:
            yield
        finally:
            recorded = list(caught)
    for one in recorded:
        why = _module_failure(str(one.message))
        if why is None:  # shown as it would have been
            warnings.showwarning(one.message, one.category, one.filename, one.lineno)
        else:
            failures.setdefault(*why)


def _module_failure(text: str) -> tuple[str, str] | None:
    """(module, why) when ``text`` is find_pipelines()' warning about a module it skipped."""
    found = _IMPORT_FAILED.search(text)
    if found:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        cause = lines[-1] if len(lines) > 1 and "Traceback" in text else ""
        return found.group(1), f"failed to import ({cause})" if cause else "failed to import"
    found = _NOT_EXPOSED.search(text)
    if found:
        return found.group(1), "has no create_pipeline function"
    found = _NOT_A_PIPELINE.search(text)
    if found:
        return found.group(1), "has a create_pipeline function that returns no Pipeline"
    return None


def pipeline_spec(name: str, pipeline: Any) -> PipelineSpec:
    """Describe a Kedro pipeline as plain data, with the dependencies Kedro computes itself.

    ``Pipeline.node_dependencies`` is the graph ``kedro run`` follows; the transcoded names
    (``table@spark``, ``table@pandas``) are mapped to their dataset by Kedro's own function.
    """
    from kedro.pipeline.transcoding import TRANSCODING_SEPARATOR, _strip_transcoding

    nodes = tuple(pipeline.nodes)
    # Kedro makes a node's name anew on each access: once per node here
    known = {id(n): n.name for n in nodes}

    def name_of(node: Any) -> str:
        name = known.get(id(node))
        return str(node.name) if name is None else name

    dependencies = {
        name_of(child): tuple(sorted(name_of(parent) for parent in parents))
        for child, parents in pipeline.node_dependencies.items()
    }
    specs = tuple(node_spec(n, known[id(n)]) for n in nodes)
    used = {dataset for spec in specs for dataset in (*spec.inputs, *spec.outputs)}
    transcoded = {  # Kedro's own split, asked only of the names that have its separator
        dataset: _strip_transcoding(dataset) for dataset in used if TRANSCODING_SEPARATOR in dataset
    }
    return PipelineSpec(name=name, nodes=specs, dependencies=dependencies, transcoded=transcoded)


def node_spec(node: Any, name: str | None = None) -> NodeSpec:
    """Describe a Kedro node as plain data (``name``: the node's name, when known)."""
    func = node.func
    qualname = getattr(func, "__qualname__", None)
    return NodeSpec(
        name=node.name if name is None else name,
        inputs=tuple(node.inputs),
        outputs=tuple(node.outputs),
        tags=tuple(sorted(node.tags)),
        namespace=node.namespace,
        func=f"{getattr(func, '__module__', '?')}.{repr(func) if qualname is None else qualname}",
        annotations=_annotations_of(func),
    )


def _annotations_of(func: Callable[..., Any]) -> tuple[tuple[str, str], ...]:
    """:func:`describe_annotations`, once per function of the pipeline (many nodes share one)."""
    try:
        return _ANNOTATIONS[func]
    except KeyError:
        found = _ANNOTATIONS[func] = describe_annotations(func)
        return found
    except TypeError:  # a callable object that cannot be a dict key
        return describe_annotations(func)


_ANNOTATIONS: weakref.WeakKeyDictionary[Any, tuple[tuple[str, str], ...]] = (
    weakref.WeakKeyDictionary()
)


def catalog_entries(loader: Any, project_path: Path | None = None) -> dict[str, Any]:
    """The catalog config as far as the plan reads it (names, and types of mapping entries):
    read directly with Kedro's rules where that is exact, else built by Kedro's loader."""
    fast = read_catalog_types(loader, project_path)
    if fast is not None:
        return fast
    try:
        return _config_section(loader, "catalog")
    except ConfigError as error:
        found = unreadable_catalog_file(loader, project_path)
        if found is None:
            raise
        raise ConfigError(found) from error.__cause__


# --- datasets ------------------------------------------------------------------------------------


def describe_datasets(
    names: Iterable[str], catalog_config: Mapping[str, Any]
) -> dict[str, DatasetSpec]:
    """Say for each dataset name whether and how the catalog config defines it."""
    from kedro.io.catalog_config_resolver import CatalogConfigResolver

    entries = {
        k: v for k, v in catalog_config.items() if isinstance(v, Mapping) and not k.startswith("_")
    }
    # Kedro's resolver matches names against the patterns only (keys with "{"): give it those.
    patterns = {k: {"type": v.get("type")} for k, v in entries.items() if "{" in k}
    resolver = CatalogConfigResolver(config=patterns, default_runtime_patterns={})
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
        return _head(str(self._path))[0]

    def branch(self) -> str | None:
        return _head(str(self._path))[1]


@cache
def _head(path: str) -> tuple[str | None, str | None]:
    """The commit and the branch checked out (None when detached, not a checkout, no git), read
    by one ``git`` process."""
    lines = (git_output(path, "rev-parse", "HEAD", "--abbrev-ref", "HEAD") or "").splitlines()
    if len(lines) != 2:
        return None, None
    commit, branch = lines
    return commit, None if branch == "HEAD" else branch
