"""The Kubernetes settings of the node pods: resource profiles (requests, limits, node selectors,
labels, annotations, tolerations, affinity).

A profile's tolerations and affinity are in :mod:`.scheduling`, the Secrets in :mod:`.secrets`
and pod templates in :mod:`kedro_airflow_k8s.features.pod_templates.config`: their models are
defined when a config first gives such a value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field, StrictStr, field_validator

from kedro_airflow_k8s.config.base import (
    BUILT_ON_USE,
    ConfigModel,
    Quantities,
    check_annotations,
    check_labels,
    check_quantities,
    defined_on_use,
    empty_list,
)

if TYPE_CHECKING:
    from kedro_airflow_k8s.config.scheduling import Affinity, Toleration
else:
    Affinity = defined_on_use("kedro_airflow_k8s.config.scheduling", "Affinity")
    Toleration = defined_on_use("kedro_airflow_k8s.config.scheduling", "Toleration")


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
    affinity: Annotated[Affinity | None, BUILT_ON_USE] = Field(
        None,
        description="A Kubernetes `affinity` object (nodeAffinity, podAffinity, podAntiAffinity), "
        "written as in a pod spec.",
    )

    _requests = field_validator("requests", "limits")(check_quantities)
    _labels = field_validator("node_selectors", "labels")(check_labels)
    _annotations = field_validator("annotations")(check_annotations)
