"""Reading ``airflow-k8s.yaml`` through the project's own Kedro config loader.

* Files: ``airflow-k8s.yaml`` / ``.yml`` and everything under ``airflow-k8s/`` in ``conf/base`` and
  the run environment.
* The environment overlays base key by key (a ``conf/prod/airflow-k8s.yaml`` that sets only
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
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from kedro_airflow_k8s.config.models import PluginConfig
from kedro_airflow_k8s.errors import ConfigError

CONFIG_KEY = "airflow-k8s"
CONFIG_PATTERNS = ["airflow-k8s*", "airflow-k8s/**"]
RESOLVER = "kedro_config"
ENV_PREFIX = "KEDRO_CONFIG_"
_LEGACY_SYNTAX = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\|\s*([^}]*))?\}")


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
            f"a default: ${{{RESOLVER}:{name},<default>}}"
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

    if CONFIG_KEY not in config_loader.config_patterns:
        config_loader.config_patterns[CONFIG_KEY] = list(CONFIG_PATTERNS)
    strategies = getattr(config_loader, "merge_strategy", None)
    if isinstance(strategies, dict):
        strategies.setdefault(CONFIG_KEY, "soft")
    register = getattr(OmegaConf, "register_resolver", None) or OmegaConf.register_new_resolver
    register(RESOLVER, make_resolver(git_fallbacks or {}), replace=True)
    try:
        raw = config_loader[CONFIG_KEY]
    except MissingConfigException:
        raise ConfigError(
            f"no {CONFIG_KEY}.yaml in conf/{getattr(config_loader, 'base_env', 'base')} or "
            f"conf/{config_loader.env or getattr(config_loader, 'default_run_env', 'local')}: "
            "create one with `kedro airflow-k8s init`"
        ) from None
    except ConfigError:
        raise
    except OmegaConfBaseException as exc:
        raise ConfigError(_interpolation_message(exc)) from None
    except ValueError as exc:  # e.g. duplicate keys across files
        raise ConfigError(f"{CONFIG_KEY} config: {exc}") from None
    return dict(raw or {})


def _interpolation_message(exc: Exception) -> str:
    text = str(exc).split("\n")[0]
    legacy = _LEGACY_SYNTAX.search(str(exc))
    if legacy and legacy.group(2):
        name, default = legacy.group(1), (legacy.group(3) or "").strip()
        return (
            f"{CONFIG_KEY} config: ${{{legacy.group(1)}|{default}}} is the old syntax; write "
            f"${{{RESOLVER}:{name},{default}}} (reads {ENV_PREFIX}{name.upper()})"
        )
    return f"{CONFIG_KEY} config: {text}"


def parse_config(raw: Mapping[str, Any]) -> PluginConfig:
    """Validate a plain config dict; any problem becomes a one-line :class:`ConfigError`."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{CONFIG_KEY} config must be a mapping of keys, not {type(raw).__name__}")
    try:
        return PluginConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def format_validation_error(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    # A misspelt key explains the "missing" error beside it: report it first.
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = tuple(first["loc"])
    path = _key_path(loc)
    message = _describe(first, loc)
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{CONFIG_KEY} config: {path or '(top level)'}: {message}{more}"


def _key_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after", "function-before", "function-plain"):
            continue
        elif "[" in str(item) and str(item).endswith("]"):
            continue  # pydantic union branch names such as "str" or "list[str]"
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _describe(error: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        valid = _valid_keys(loc[:-1])
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else (
            f"; valid keys: {', '.join(valid)}" if valid else ""
        )
        return f"unknown key{hint}"
    if kind == "missing":
        return "is required"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    value = error.get("input")
    if kind.endswith("_type") or kind in ("literal_error", "enum", "greater_than", "greater_than_equal"):
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
                return field.annotation
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
