"""Markdown reference of every config key, generated from the models (docs/configuration.md):
``python scripts/config_reference.py > docs/configuration.md`` (with the package importable)."""

from __future__ import annotations

import inspect
import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from kedro_airflow_k8s.config.base import declared_type
from kedro_airflow_k8s.config.models import PluginConfig


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:  # StrictStr and friends
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " (optional)"
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    if getattr(annotation, "__name__", None) in ("StrictStr", "str"):
        return "string"
    name = getattr(annotation, "__name__", None) or str(annotation)
    return {
        "StrictInt": "integer",
        "StrictBool": "boolean",
        "float": "number",
        "int": "integer",
        "bool": "boolean",
        "Any": "any",
    }.get(name, name)


def _bounds(field: Any) -> str:
    """``, 0 to 2147483647`` for an integer field with declared bounds, else ``""``."""
    import annotated_types

    low: int | None = None
    high: int | None = None
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            low = int(item.ge)  # type: ignore[call-overload]
        elif isinstance(item, annotated_types.Gt):
            low = int(item.gt) + 1  # type: ignore[call-overload]
        elif isinstance(item, annotated_types.Le):
            high = int(item.le)  # type: ignore[call-overload]
        elif isinstance(item, annotated_types.Lt):
            high = int(item.lt) - 1  # type: ignore[call-overload]
    if low is not None and high is not None:
        return f", {low} to {high}"
    if low is not None:
        return f", at least {low}"
    if high is not None:
        return f", at most {high}"
    return ""


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        value = field.default_factory()
    else:
        return "required"
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{json.dumps(value)}`"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _section(model: type[BaseModel], path: str, lines: list[str]) -> None:
    lines += [f"## `{path}`", "", inspect.cleandoc(model.__doc__ or ""), ""]
    lines += ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        annotation = declared_type(field.annotation)
        meaning = (field.description or "").replace("|", "\\|")
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        shown = str(extra.get("shown_type") or _type_name(annotation))
        lines.append(f"| `{key}` | {shown}{_bounds(field)} | {_default(field)} | {meaning} |")
        sub = _nested_model(annotation)
        if sub is not None:
            origin = typing.get_origin(annotation)
            suffix = "[]" if origin is list else ".<name>" if origin is dict else ""
            nested.append((sub, f"{path}.{key}{suffix}" if path else f"{key}{suffix}"))
    lines.append("")
    for sub, sub_path in nested:
        _section(sub, sub_path, lines)


def config_reference() -> str:
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from the config models by "
        "`python scripts/config_reference.py > docs/configuration.md`. -->",
        "",
        "`conf/base/kedro-airflow-k8s.yaml` (also `.yml` and files under "
        "`kedro-airflow-k8s/`), overlaid key by key by the run environment. Unknown keys are "
        "errors. The old name `airflow-k8s.yaml` is still read, with a warning: "
        "kedro-airflow's `airflow*` config pattern reads it too.",
        "",
    ]
    _section(PluginConfig, "", lines)
    text = "\n".join(lines).replace("## ``", "## (top level)")
    return text.rstrip("\n") + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(config_reference(), end="")
