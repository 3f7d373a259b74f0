"""The Kubernetes settings of the node pods: resource profiles (requests, limits, node selectors,
labels, annotations, tolerations, affinity), Secrets and pod templates.

A pod template's YAML is parsed once, when the config is read, and carried parsed
(:attr:`PodTemplate.manifest`).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, StrictInt, StrictStr, field_validator, model_validator

from kedro_airflow_k8s.config.base import (
    BUILT_ON_USE,
    DNS_SUBDOMAIN,
    ENV_NAME,
    INT64_MAX,
    ConfigModel,
    OnUseModel,
    Quantities,
    check_annotations,
    check_image,
    check_labels,
    check_quantities,
    empty_list,
)


class Toleration(OnUseModel):
    """A Kubernetes toleration of a node taint."""

    key: StrictStr | None = Field(None, description="Taint key the toleration applies to.")
    operator: Literal["Equal", "Exists"] = Field("Equal", description="`Equal` or `Exists`.")
    value: StrictStr | None = Field(None, description="Taint value (with `operator: Equal`).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect to tolerate; all effects when empty."
    )
    toleration_seconds: StrictInt | None = Field(
        None,
        alias="tolerationSeconds",
        ge=-INT64_MAX - 1,
        le=INT64_MAX,
        description="How long a `NoExecute` taint is tolerated, in seconds.",
    )

    @model_validator(mode="after")
    def _exists_has_no_value(self) -> Toleration:
        if self.operator == "Exists" and self.value is not None:
            raise ValueError("a toleration with operator Exists must not set value")
        return self


# --- affinity: the Kubernetes Affinity object, key by key (camelCase, as in a pod spec) ----------

_SELECTOR_OPERATORS = Literal["In", "NotIn", "Exists", "DoesNotExist"]


class LabelSelectorRequirement(OnUseModel):
    """One expression of a label selector."""

    key: StrictStr = Field(description="Label key.")
    operator: _SELECTOR_OPERATORS = Field(description="`In`, `NotIn`, `Exists` or `DoesNotExist`.")
    values: list[StrictStr] = Field(
        default_factory=empty_list, description="Values (for `In` and `NotIn`)."
    )


class LabelSelector(OnUseModel):
    """Selects pods (or namespaces) by their labels."""

    match_labels: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, alias="matchLabels", description="Labels that must all match."
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=empty_list,
        alias="matchExpressions",
        description="Expressions, all must hold.",
    )


class NodeSelectorRequirement(OnUseModel):
    """One expression on a node's labels or fields."""

    key: StrictStr = Field(description="Label (or field) key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] = Field(
        description="`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`."
    )
    values: list[StrictStr] = Field(default_factory=empty_list, description="Values.")


class NodeSelectorTerm(OnUseModel):
    """Expressions a node must all satisfy."""

    match_expressions: list[NodeSelectorRequirement] = Field(
        default_factory=empty_list, alias="matchExpressions", description="On node labels."
    )
    match_fields: list[NodeSelectorRequirement] = Field(
        default_factory=empty_list, alias="matchFields", description="On node fields."
    )


class NodeSelector(OnUseModel):
    """Terms of which a node must satisfy at least one."""

    node_selector_terms: list[NodeSelectorTerm] = Field(
        alias="nodeSelectorTerms", description="The terms."
    )


class PreferredSchedulingTerm(OnUseModel):
    """A weighted node preference."""

    weight: StrictInt = Field(ge=1, le=100, description="1-100.")
    preference: NodeSelectorTerm = Field(description="The preferred nodes.")


class NodeAffinity(OnUseModel):
    """Which nodes the pod may or should run on."""

    required: NodeSelector | None = Field(
        None,
        alias="requiredDuringSchedulingIgnoredDuringExecution",
        description="Nodes the pod must run on.",
    )
    preferred: list[PreferredSchedulingTerm] = Field(
        default_factory=empty_list,
        alias="preferredDuringSchedulingIgnoredDuringExecution",
        description="Nodes the pod should run on.",
    )


class PodAffinityTerm(OnUseModel):
    """Pods (selected by labels) near which the pod runs, per topology domain."""

    label_selector: LabelSelector | None = Field(
        None, alias="labelSelector", description="The pods."
    )
    namespace_selector: LabelSelector | None = Field(
        None, alias="namespaceSelector", description="Their namespaces, by label."
    )
    namespaces: list[StrictStr] = Field(default_factory=empty_list, description="Their namespaces.")
    topology_key: StrictStr = Field(
        alias="topologyKey",
        description="Node label naming the domain, e.g. `kubernetes.io/hostname`.",
    )
    match_label_keys: list[StrictStr] = Field(
        default_factory=empty_list, alias="matchLabelKeys", description="Label keys to match too."
    )
    mismatch_label_keys: list[StrictStr] = Field(
        default_factory=empty_list,
        alias="mismatchLabelKeys",
        description="Label keys that must differ.",
    )


class WeightedPodAffinityTerm(OnUseModel):
    """A weighted pod (anti-)affinity preference."""

    weight: StrictInt = Field(ge=1, le=100, description="1-100.")
    pod_affinity_term: PodAffinityTerm = Field(alias="podAffinityTerm", description="The term.")


class PodAffinity(OnUseModel):
    """Pods the pod must or should run near (or, as anti-affinity, away from)."""

    required: list[PodAffinityTerm] = Field(
        default_factory=empty_list,
        alias="requiredDuringSchedulingIgnoredDuringExecution",
        description="Terms that must hold.",
    )
    preferred: list[WeightedPodAffinityTerm] = Field(
        default_factory=empty_list,
        alias="preferredDuringSchedulingIgnoredDuringExecution",
        description="Terms that should hold.",
    )


class Affinity(OnUseModel):
    """A Kubernetes `affinity` object, written as in a pod spec; unknown keys are errors."""

    node_affinity: NodeAffinity | None = Field(
        None, alias="nodeAffinity", description="Node affinity."
    )
    pod_affinity: PodAffinity | None = Field(None, alias="podAffinity", description="Pod affinity.")
    pod_anti_affinity: PodAffinity | None = Field(
        None, alias="podAntiAffinity", description="Pod anti-affinity."
    )

    def as_pod_spec(self) -> dict[str, Any]:
        """The object as a pod spec writes it (the keys that were set, camelCase)."""
        if not self.model_fields_set:  # the default: its serializer is not built for nothing
            return {}
        return self.model_dump(by_alias=True, exclude_unset=True)


class ResourceProfile(ConfigModel):
    """Pod settings for the nodes that select this profile (by tag) or for all (`__default__`)."""

    requests: Quantities = Field(
        default_factory=dict,
        description="Requested resources, e.g. `cpu: 500m`, `memory: 1Gi`, `nvidia.com/gpu: 1`.",
    )
    limits: Quantities = Field(
        default_factory=dict, description="Resource limits, same keys as `requests`."
    )
    node_selectors: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="Node labels the pod must be scheduled on."
    )
    labels: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="Labels put on the pod."
    )
    annotations: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="Annotations put on the pod (values may span lines)."
    )
    tolerations: Annotated[list[Toleration], BUILT_ON_USE] = Field(
        default_factory=empty_list, description="Tolerations of node taints."
    )
    affinity: Annotated[Affinity, BUILT_ON_USE] = Field(
        default_factory=Affinity.model_construct,
        description="A Kubernetes `affinity` object (nodeAffinity, podAffinity, podAntiAffinity), "
        "written as in a pod spec.",
    )

    _requests = field_validator("requests", "limits")(check_quantities)
    _labels = field_validator("node_selectors", "labels")(check_labels)
    _annotations = field_validator("annotations")(check_annotations)


class SecretConfig(OnUseModel):
    """A Kubernetes Secret exposed to every node pod."""

    secret: StrictStr = Field(description="Name of the Kubernetes Secret object.")
    deploy_type: Literal["env", "volume"] = Field(
        "env", description="`env` (environment variables) or `volume` (files)."
    )
    deploy_target: StrictStr | None = Field(
        None,
        description="Environment variable name (`env` with `key`) or mount path (`volume`). "
        "With `env` and no `key`, every key of the Secret becomes a variable.",
    )
    key: StrictStr | None = Field(None, description="A single key of the Secret to expose.")

    @model_validator(mode="after")
    def _targets(self) -> SecretConfig:
        if not DNS_SUBDOMAIN.match(self.secret):
            raise ValueError(f"secret name {self.secret!r} is not a valid Kubernetes name")
        if self.deploy_type == "volume" and not (self.deploy_target or "").startswith("/"):
            raise ValueError("a volume secret needs deploy_target: an absolute mount path")
        if self.deploy_type == "env":
            if self.key and not self.deploy_target:
                raise ValueError("an env secret with a key needs deploy_target: the variable name")
            if self.deploy_target and not ENV_NAME.match(self.deploy_target):
                raise ValueError(f"{self.deploy_target!r} is not a valid environment variable name")
            if self.deploy_target and not self.key:
                raise ValueError("deploy_target needs key: which key of the Secret to expose")
        return self


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
