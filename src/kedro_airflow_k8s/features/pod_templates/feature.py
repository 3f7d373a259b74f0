"""The compile side of pod templates: the SPEC's ``pod_templates`` section, the templates the
plan's tasks use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kedro_airflow_k8s.features.api import Feature, SectionInputs

if TYPE_CHECKING:
    from kedro_airflow_k8s.config.models import RunConfig
    from kedro_airflow_k8s.runtime.spec import PodTemplateSpec

SPEC_KEY: Final = "pod_templates"


def pod_templates_spec(run_config: RunConfig, names: set[str]) -> dict[str, PodTemplateSpec]:
    """The pod templates the tasks use, as plain data (parsed when the config was read)."""
    out: dict[str, PodTemplateSpec] = {}
    for name in sorted(names):
        template = run_config.kubernetes_pod_templates[name]
        out[name] = {"template": template.manifest, "image": template.image}
    return out


class PodTemplatesFeature(Feature):
    spec_key = SPEC_KEY

    def section(self, inputs: SectionInputs) -> dict[str, PodTemplateSpec]:
        used = {task.pod_template for task in inputs.plan.tasks if task.pod_template}
        return pod_templates_spec(inputs.run_config, used)


FEATURE = PodTemplatesFeature()
