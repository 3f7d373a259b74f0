"""Reading the plugin's config through the project's own Kedro config loader.

* Files: ``kedro-airflow-k8s.yaml`` / ``.yml`` and everything under ``kedro-airflow-k8s/`` in
  ``conf/base`` and the run environment. The old name, ``airflow-k8s.yaml`` (and
  ``airflow-k8s/``), is still read, with a note: kedro-airflow's default config pattern
  ``airflow*`` reads it too, and fails on its ``${kedro_config:...}`` values.
* The environment overlays base key by key (a ``conf/prod/kedro-airflow-k8s.yaml`` that sets only
  ``run_config.image`` keeps the rest of base), unless the project chose a merge strategy itself.
* ``${kedro_config:NAME}`` / ``${kedro_config:NAME,DEFAULT}`` reads the environment variable
  ``KEDRO_CONFIG_<NAME>``; ``commit_id`` and ``branch_name`` fall back to the project's git
  commit and branch.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from pydantic import BaseModel, ValidationError

from kedro_airflow_k8s.config.base import declared_type
from kedro_airflow_k8s.config.models import PluginConfig
from kedro_airflow_k8s.errors import ConfigError, PluginConfigError

CONFIG_KEY = "airflow-k8s"  # the key of the config loader (errors.PLUGIN_CONFIG names it)
CONFIG_NAME = (
    "kedro-airflow-k8s"  # conf/<env>/kedro-airflow-k8s.yaml or conf/<env>/kedro-airflow-k8s/
)
LEGACY_NAME = "airflow-k8s"  # the old name, which kedro-airflow's "airflow*" pattern also reads
CONFIG_PATTERNS = [f"{CONFIG_NAME}*", f"{CONFIG_NAME}/**", f"{LEGACY_NAME}*", f"{LEGACY_NAME}/**"]
_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
RESOLVER = "kedro_config"
ENV_PREFIX = "KEDRO_CONFIG_"
_LEGACY_SYNTAX = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\|\s*([^}]*))?\}")
# How OmegaConf reports ``${name|default}`` (read as a reference to a key named "name|default").
_NOT_A_MAPPING = re.compile(r"Invalid loaded object type: (\w+)")
# How Kedro's OmegaConfigLoader reports a missing (or non-folder) environment.
_MISSING_FOLDER = re.compile(
    r"does not exist or is not a valid directory: (.+?)(?:\. Error: .*)?$", re.DOTALL
)
_LEGACY_KEY = re.compile(
    r"Interpolation key '\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\|\s*([^']*))' not found"
)


def make_resolver(git_fallbacks: Mapping[str, Callable[[], str | None]]) -> Callable[..., str]:
    """The ``kedro_config`` resolver: environment first, then git fallbacks, then the default."""

    def resolve(name: str, default: Any = None) -> str:
        variable = ENV_PREFIX + str(name).upper()
        value = os.environ.get(variable)
        if value is not None:
            return value
        fallback = git_fallbacks.get(str(name).lower())
        if fallback is not None:
            found = fallback()
            if found:
                return found
        if default is not None:
            return str(default)
        raise ConfigError(
            f"${{{RESOLVER}:{name}}} needs the environment variable {variable}; set it or give "
            f"a default after a comma, e.g. ${{{RESOLVER}:{name},default-value}}"
        )

    return resolve


def read_raw_config(
    config_loader: Any,
    git_fallbacks: Mapping[str, Callable[[], str | None]] | None = None,
) -> dict[str, Any]:
    """Load the merged, interpolated plugin config as a plain dict from a Kedro config loader."""
    from kedro.config import MissingConfigException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException
    from yaml import YAMLError

    if CONFIG_KEY not in config_loader.config_patterns:
        config_loader.config_patterns[CONFIG_KEY] = list(CONFIG_PATTERNS)
        _refuse_both_names(config_loader)
    strategies = getattr(config_loader, "merge_strategy", None)
    if isinstance(strategies, dict):
        strategies.setdefault(CONFIG_KEY, "soft")
    register = getattr(OmegaConf, "register_resolver", None) or OmegaConf.register_new_resolver
    register(RESOLVER, make_resolver(git_fallbacks or {}), replace=True)
    try:
        raw = config_loader[CONFIG_KEY]
    except MissingConfigException as exc:
        raise ConfigError(_missing_message(config_loader, exc)) from exc
    except ConfigError:
        raise
    except OmegaConfBaseException as exc:
        raise PluginConfigError(_interpolation_message(exc)) from exc
    except UnicodeDecodeError as exc:
        raise PluginConfigError(_undecodable_message(config_loader, exc)) from exc
    except ValueError as exc:  # e.g. duplicate keys across files
        raise PluginConfigError(str(exc)) from exc
    except YAMLError as exc:  # invalid YAML, or a key repeated inside one file
        raise PluginConfigError(_yaml_message(exc)) from exc
    except OSError as exc:  # e.g. a file holding a single number
        scalar = _NOT_A_MAPPING.match(str(exc))
        if scalar:
            raise PluginConfigError(_not_a_mapping(scalar.group(1))) from exc
        raise PluginConfigError(str(exc)) from exc
    return dict(raw or {})


def _env_folders(config_loader: Any) -> tuple[str, str]:
    """The base and run environment folders, as messages show them (``conf/base``)."""
    source = Path(str(getattr(config_loader, "conf_source", "conf"))).name or "conf"
    base = getattr(config_loader, "base_env", None) or "base"
    env = config_loader.env or getattr(config_loader, "default_run_env", None) or "local"
    return f"{source}/{base}", f"{source}/{env}"


def _config_entries(config_loader: Any, name: str) -> dict[str, list[str]]:
    """Per environment folder (as shown in messages), the config files and folders called
    ``name`` (``name.yaml``, ``name.yml``, ``name.json``, ``name/``) that exist there."""
    source = Path(str(getattr(config_loader, "conf_source", "conf")))
    found: dict[str, list[str]] = {}
    for shown in dict.fromkeys(_env_folders(config_loader)):
        folder = source / shown.split("/", 1)[1]
        entries = [
            name + suffix for suffix in _CONFIG_SUFFIXES if (folder / (name + suffix)).is_file()
        ]
        if (folder / name).is_dir():
            entries.append(f"{name}/")
        if entries:
            found[shown] = entries
    return found


def _refuse_both_names(config_loader: Any) -> None:
    new = _config_entries(config_loader, CONFIG_NAME)
    for folder, old in _config_entries(config_loader, LEGACY_NAME).items():
        if folder in new:
            raise PluginConfigError(
                f"{folder} holds both {new[folder][0]} and {old[0]}: keep "
                f"{new[folder][0]} only (the old name is read too, so both would apply)"
            )


def legacy_config_notes(config_loader: Any) -> list[str]:
    """A note for each config file or folder of the old name that is read."""
    return [
        f"{folder}/{entry}: rename it to {CONFIG_NAME}{entry.removeprefix(LEGACY_NAME)}; the old "
        "name is still read, but kedro-airflow's `airflow*` config pattern reads it too and "
        "fails on its ${kedro_config:...} values"
        for folder, entries in _config_entries(config_loader, LEGACY_NAME).items()
        for entry in entries
    ]


def _environments(config_loader: Any) -> tuple[str, str]:
    """The base and the run environment of a Kedro config loader."""
    base = getattr(config_loader, "base_env", None) or "base"
    run = config_loader.env or getattr(config_loader, "default_run_env", None) or "local"
    return base, run


def _missing_message(config_loader: Any, exc: Exception) -> str:
    """Tell an environment without a folder from an environment without the plugin's file."""
    base, run = _environments(config_loader)
    folder = _MISSING_FOLDER.search(str(exc))
    if folder is None:
        shown_base, shown_run = _env_folders(config_loader)
        return (
            f"no {CONFIG_NAME}.yaml in {shown_base} or {shown_run}: create one with "
            "`kedro airflow-k8s init`"
        )
    path = folder.group(1)
    problem = f"{path} is not a folder" if os.path.exists(path) else f"there is no folder {path}"
    if PurePath(path).name == run and run != base:
        known = _environment_names(config_loader)
        listed = f"environments: {', '.join(known)}; " if known else ""
        return (
            f"environment {run!r} does not exist: {problem} "
            f"({listed}-e/--env or KEDRO_ENV picks one)"
        )
    return f"the base environment {base!r} does not exist: {problem}"


def _environment_names(config_loader: Any) -> list[str]:
    """The environments (sub-folders) of a configuration folder on the local disk."""
    source = str(getattr(config_loader, "conf_source", "") or "")
    if not os.path.isdir(source):
        return []  # an archive or a remote conf_source: not listed
    return sorted(entry.name for entry in os.scandir(source) if entry.is_dir())


def _config_files(folder: Path) -> list[Path]:
    """The files of one environment folder that :data:`CONFIG_PATTERNS` select."""
    found: set[Path] = set()
    for pattern in CONFIG_PATTERNS:
        if pattern.endswith("/**"):
            found.update(Path(folder, pattern[:-3]).rglob("*"))
        else:
            found.update(folder.glob(pattern))
    return sorted(path for path in found if path.is_file())


def _undecodable_message(config_loader: Any, exc: UnicodeDecodeError) -> str:
    """Name the configuration file that is not UTF-8 text (Kedro's error does not)."""
    detail = f"{exc.reason} at byte {exc.start}"
    source = str(getattr(config_loader, "conf_source", "") or "")
    if os.path.isdir(source):
        for env in _environments(config_loader):
            for path in _config_files(Path(source, env)):
                try:
                    path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    return f"{path} is not UTF-8 text ({detail})"
                except OSError:
                    continue
    return f"a file is not UTF-8 text ({detail})"


def _not_a_mapping(kind: str) -> str:
    return f"(top level): must be a mapping of keys, not {kind}"


def _interpolation_message(exc: Exception) -> str:
    if "ListConfig does not support attribute access" in str(exc):
        return _not_a_mapping("list")  # a file holding a list: Kedro asks it for its keys
    full_key = getattr(exc, "full_key", None)
    where = f"{full_key}: " if full_key else ""
    # OmegaConf wraps what the resolver raised (our own ConfigError) in its own errors.
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ConfigError):
            return f"{where}{cause.message}"
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    text = str(exc).split("\n")[0]
    legacy = _LEGACY_SYNTAX.search(str(exc)) or _LEGACY_KEY.search(str(exc))
    if legacy and legacy.group(2):
        name, default = legacy.group(1), (legacy.group(3) or "").strip()
        return (
            f"{where}${{{name}|{default}}} is the old syntax; write "
            f"${{{RESOLVER}:{name},{default}}} (reads {ENV_PREFIX}{name.upper()})"
        )
    return f"{where}{text}"


def _yaml_message(exc: Exception) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return f"{' '.join(str(exc).split())}"


def parse_config(raw: Mapping[str, Any]) -> PluginConfig:
    """Validate a plain config dict; any problem becomes a one-line :class:`PluginConfigError`."""
    if not isinstance(raw, Mapping):
        raise PluginConfigError(_not_a_mapping(type(raw).__name__))
    data = dict(raw)
    try:
        return PluginConfig.model_validate(data)
    except ValidationError as exc:
        raise PluginConfigError(format_validation_error(exc, data)) from exc


def format_validation_error(exc: ValidationError, data: Any = None) -> str:
    """One line for a validation error; ``data`` (the validated input) makes the key path exact."""
    errors = exc.errors(include_url=False)
    # A misspelt key explains the "missing" error beside it: report it first.
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    paths = [_key_path(tuple(e["loc"]), data, e["type"] == "missing") for e in errors]
    first = errors[0]
    loc = tuple(first["loc"])
    path = paths[0]
    # One value failing every branch of a union (str | int | float) is one problem.
    same = [
        e for e, p in zip(errors, paths, strict=True) if p == path and e["type"].endswith("_type")
    ]
    message = _describe(first, loc)
    if len(same) > 1 and first["type"].endswith("_type"):
        message = _describe_union(same)
    others = len(set(paths)) - 1
    more = f" (and {others} more problem{'s' if others > 1 else ''})" if others > 0 else ""
    return f"{path or '(top level)'}: {message}{more}"


def _key_path(loc: tuple[Any, ...], data: Any = None, missing: bool = False) -> str:
    """The path of ``loc`` in the user's document, without pydantic's internal loc items.

    pydantic inserts union branch names ("str", "int", "function-after[...]") and "[key]"
    markers into ``loc``; walking the input keeps only the steps that exist in it.
    """
    parts: list[str] = []
    node = data
    walk = data is not None
    for index, item in enumerate(loc):
        last = index == len(loc) - 1
        if walk:
            found, key, child = _child(node, item)
            if found:
                node = child
                parts.append(_render(key, parts))
            elif last and missing:
                parts.append(_render(item, parts))  # the required key that is absent
            continue
        if item in ("function-after", "function-before", "function-plain"):
            continue
        if "[" in str(item) and str(item).endswith("]"):
            continue  # pydantic union branch names such as "list[str]"
        parts.append(_render(item, parts))
    return "".join(parts)


def _child(node: Any, item: Any) -> tuple[bool, Any, Any]:
    """Find the loc item ``item`` in ``node``: (found, the key as written, the child)."""
    if isinstance(node, Mapping):
        for key in node:  # exact type first: loc shows a True key as 1
            if key == item and type(key) is type(item):
                return True, key, node[key]
        for key in node:  # then keys pydantic wrote into loc as an int, repr or str
            if not isinstance(key, str) and (
                (key == item and isinstance(item, int)) or item in (repr(key), str(key))
            ):
                return True, key, node[key]
        return False, None, None
    if isinstance(node, (list, tuple)) and isinstance(item, int) and 0 <= item < len(node):
        return True, item, node[item]
    return False, None, None


def _render(key: Any, parts: list[str]) -> str:
    """``.name`` for a string key; ``[0]`` for a list index or a non-string key."""
    if isinstance(key, str):
        return ("." if parts else "") + key
    return f"[{key}]"


# Errors whose pydantic text names a Python type or one of the plugin's classes ("a valid
# dictionary or instance of RunConfig"): in YAML each of them is a mapping.
_MAPPING_ERRORS = frozenset(
    {"dict_type", "mapping_type", "model_type", "model_attributes_type", "dataclass_type"}
)


def _expected(error: Mapping[str, Any]) -> str:
    """What the value should be, in YAML's words: "a valid string", "a mapping"."""
    if error["type"] in _MAPPING_ERRORS:
        return "a mapping"
    return str(error["msg"]).removeprefix("Input should be ")


def _describe_union(errors: Sequence[Mapping[str, Any]]) -> str:
    kinds: list[str] = []
    for error in errors:
        expected = _expected(error)
        kinds.append("mapping" if expected == "a mapping" else expected.removeprefix("a valid "))
    expected = ", ".join(kinds[:-1]) + f" or {kinds[-1]}"
    shown = repr(errors[0].get("input"))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"input should be a valid {expected} (got {shown})"


def _describe(error: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        valid = _valid_keys(loc[:-1])
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        hint = (
            f"; did you mean {close[0]!r}?"
            if close
            else (f"; valid keys: {', '.join(valid)}" if valid else "")
        )
        return f"unknown key{hint}"
    if kind == "missing":
        return "is required"
    message = str(error["msg"])
    if kind in _MAPPING_ERRORS or message.startswith("Input should be "):
        message = f"input should be {_expected(error)}"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    elif message:
        message = f"{message[0].lower()}{message[1:]}"
    value = error.get("input")
    if kind.endswith("_type") or kind in (
        "literal_error",
        "enum",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
    ):
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{message[0].lower()}{message[1:]} (got {shown})"
    return message


def _valid_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at ``loc`` in the config models (for "did you mean")."""
    current: Any = PluginConfig
    for item in loc:
        current = _step(current, item)
        if current is None:
            return []
    model = _model_in(current)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _step(annotation: Any, item: Any) -> Any:
    model = _model_in(annotation)
    if model is not None and isinstance(item, str):
        for name, field in model.model_fields.items():
            if item in (name, field.alias):
                return declared_type(field.annotation)
        return None
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (list, tuple) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    if args:  # a union: try each branch
        for arg in args:
            found = _step(arg, item)
            if found is not None:
                return found
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
