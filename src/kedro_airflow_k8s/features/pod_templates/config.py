"""The keys of pod templates: ``run_config.kubernetes_pod_templates``.

A template's YAML is parsed once, when the config is read, and carried parsed
(:attr:`PodTemplate.manifest`). Defined when a config first gives a template
(:func:`kedro_airflow_k8s.config.base.defined_on_use`).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from pydantic import Field, PrivateAttr, StrictStr, field_validator

from kedro_airflow_k8s.config.base import OnUseModel, check_image


def parse_pod_template(text: str) -> dict[str, Any]:
    """A pod template's YAML as plain data; it is data, never evaluated."""
    return copy.deepcopy(_parsed(text))


@lru_cache(maxsize=256)
def _parsed(text: str) -> dict[str, Any]:
    """The parse behind :func:`parse_pod_template`, done once per text: the check when the
    config is read and the manifest the model then carries share it (callers get copies)."""
    import yaml

    if "PodGenerator." in text or "{self." in text:
        raise ValueError(
            "the template holds Python f-string expressions (0.8 syntax); write plain YAML: the "
            "plugin names pods and mounts the volume itself"
        )
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"the template is not valid YAML: {first}") from exc
    if not isinstance(value, dict):
        raise ValueError("the template must be a pod manifest (a mapping)")
    if value.get("kind", "Pod") != "Pod" or value.get("type", "Pod") != "Pod":
        raise ValueError("the template must describe a Pod")
    value.pop("type", None)  # the 0.8 documentation's `type: Pod`
    value.setdefault("apiVersion", "v1")
    value.setdefault("kind", "Pod")
    spec = value.setdefault("spec", {}) or {}
    if not isinstance(spec, dict):
        raise ValueError("the template's spec must be a mapping")
    value["spec"] = spec
    containers = spec.setdefault("containers", []) or []
    if not isinstance(containers, list) or not all(isinstance(c, dict) for c in containers):
        raise ValueError("the template's spec.containers must be a list of containers")
    if containers and not any(c.get("name") == "base" for c in containers):
        raise ValueError(
            "the template's node container must be named 'base' (the container the plugin runs "
            "kedro in)"
        )
    spec["containers"] = containers or [{"name": "base"}]
    return value


class PodTemplate(OnUseModel):
    """A custom pod template for the nodes tagged with its name (or all, `__default__`)."""

    template: StrictStr = Field(
        description="The pod manifest (YAML); the plugin's settings win where both set a value."
    )
    image: StrictStr | None = Field(
        None, description="Image for these pods instead of run_config.image."
    )

    _manifest: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("template")
    @classmethod
    def _parses(cls, value: str) -> str:
        _parsed(value)  # a ValueError here names the key
        return value

    def model_post_init(self, context: Any, /) -> None:
        self._manifest = _parsed(self.template)  # parsed by the check above: no second parse

    @property
    def manifest(self) -> dict[str, Any]:
        """The template as plain data (a copy: the model stays as it was read)."""
        return copy.deepcopy(self._manifest)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return None if value is None else check_image(value)
