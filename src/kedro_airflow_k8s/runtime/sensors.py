"""External sensors: the run waits for other DAGs (or one of their tasks) before its first tasks.

This module runs inside Airflow: the renderer embeds its source after the DAG builder's when the
SPEC's ``"external_dependencies"`` section is not empty (a list of
:class:`~kedro_airflow_k8s.runtime.spec.SensorSpec`) and passes ``SensorsExtension`` to
``build_dag`` before the other extensions that add tasks, so that what they put before the
first node tasks after whatever precedes them (the volume, the spark cluster) waits for the
sensors too.

Imports: the standard library and Airflow's ``ExternalTaskSensor`` (the standard provider on
Airflow 3, Airflow itself on 2.10); no ``from __future__`` (it is not at the top of the file).
Top-level names start with ``sensor`` / ``Sensors`` so they cannot clash with the other embedded
modules.
"""

import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the SPEC's types; never imported inside Airflow (runtime/spec.py)
    from .spec import DagSpec


def sensor_operators(spec: "DagSpec") -> list[Any]:
    """One ``ExternalTaskSensor`` per entry, in reschedule mode (no worker slot while it waits)."""
    try:  # Airflow 3
        from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
    except ImportError:  # Airflow 2.10
        from airflow.sensors.external_task import ExternalTaskSensor  # type: ignore[no-redef]

    return [
        ExternalTaskSensor(
            task_id=entry["task_id"],
            external_dag_id=entry["dag_id"],
            external_task_id=entry.get("external_task_id"),
            check_existence=entry["check_existence"],
            execution_delta=datetime.timedelta(minutes=entry["execution_delta_minutes"]),
            timeout=entry["timeout_minutes"] * 60,
            mode="reschedule",
        )
        for entry in spec.get("external_dependencies") or []
    ]


class SensorsExtension:
    """DAG builder extension (see dag_builder): every sensor upstream of every first node task."""

    @staticmethod
    def add_tasks(
        dag: Any, spec: "DagSpec", roots: list[Any], leaves: list[Any]
    ) -> list[tuple[Any, Any]]:
        return [(sensor, root) for sensor in sensor_operators(spec) for root in roots]
