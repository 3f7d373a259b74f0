"""Where a profile's pods may be scheduled: its tolerations of node taints and its Kubernetes
`affinity` object, key by key (camelCase, as in a pod spec).

Defined when a config first gives a toleration or an affinity (:func:`.base.defined_on_use`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictInt, StrictStr, model_validator

from kedro_airflow_k8s.config.base import INT64_MAX, OnUseModel, empty_list


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


# --- affinity ------------------------------------------------------------------------------------

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
        if not self.model_fields_set:  # `affinity: {}`: its serializer is not built for nothing
            return {}
        return self.model_dump(by_alias=True, exclude_unset=True)
