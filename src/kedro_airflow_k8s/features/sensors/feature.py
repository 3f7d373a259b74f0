"""The compile side of external sensors: the SPEC's ``external_dependencies`` section, one
``ExternalTaskSensor`` per entry upstream of the first tasks (``runtime/sensors.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kedro_airflow_k8s.features.api import Feature, SectionInputs
from kedro_airflow_k8s.names import Names, sensor_id

if TYPE_CHECKING:
    from kedro_airflow_k8s.config.models import RunConfig
    from kedro_airflow_k8s.runtime.spec import SensorSpec

SPEC_KEY: Final = "external_dependencies"


def external_dependencies_spec(
    run_config: RunConfig, taken: Names | None = None
) -> list[SensorSpec]:
    """One sensor per entry, with task ids unique however many entries there are (and apart from
    the ids in ``taken``, which grows)."""
    out: list[SensorSpec] = []
    used = taken if taken is not None else Names()
    for entry in run_config.external_dependencies:
        out.append(
            {
                "task_id": used.claim(sensor_id(entry.dag_id, entry.task_id)),
                "dag_id": entry.dag_id,
                "external_task_id": entry.task_id,
                "timeout_minutes": entry.timeout,
                "check_existence": entry.check_existence,
                "execution_delta_minutes": entry.execution_delta,
            }
        )
    return out


class SensorsFeature(Feature):
    spec_key = SPEC_KEY
    runtime_module = "sensors"
    extension = "SensorsExtension"

    def section(self, inputs: SectionInputs) -> list[SensorSpec]:
        """Empty when the build leaves the sensors out (run-once runs at once)."""
        if not inputs.with_external_dependencies:
            return []
        return external_dependencies_spec(inputs.run_config, inputs.taken)


FEATURE = SensorsFeature()
