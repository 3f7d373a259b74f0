"""Every optional feature's compile side (a :class:`~kedro_airflow_k8s.features.api.Feature`).

The orders are part of the output: the SPEC literal and the DAG file are byte-identical for the
same input only while they hold.
"""

from __future__ import annotations

from kedro_airflow_k8s.features.alerts.feature import FEATURE as ALERTS
from kedro_airflow_k8s.features.api import Feature
from kedro_airflow_k8s.features.in_memory.feature import FEATURE as IN_MEMORY
from kedro_airflow_k8s.features.local.feature import FEATURE as LOCAL
from kedro_airflow_k8s.features.mlflow.feature import FEATURE as MLFLOW
from kedro_airflow_k8s.features.pod_templates.feature import FEATURE as POD_TEMPLATES
from kedro_airflow_k8s.features.sensors.feature import FEATURE as SENSORS
from kedro_airflow_k8s.features.spark.feature import FEATURE as SPARK
from kedro_airflow_k8s.features.volume.feature import FEATURE as VOLUME

#: The sections ``build_spec`` writes after the core, in the SPEC's order, which is also the
#: order their task ids are claimed in. Local execution is not among them: it is the way the
#: whole SPEC is made (``build_spec``), its section written last.
SECTIONS: tuple[Feature, ...] = (
    SENSORS,
    ALERTS,
    VOLUME,
    IN_MEMORY,
    MLFLOW,
    POD_TEMPLATES,
    SPARK,
)

#: Every feature, in the order the DAG file embeds their runtime modules and lists their
#: extensions; local execution first: its task_operator makes every node task's operator (spark
#: too); then the sensors, so that the volume and the spark cluster, which later extensions put
#: before the first node tasks, wait for them too. Warnings are asked for in this order too.
FEATURES: tuple[Feature, ...] = (
    LOCAL,
    SENSORS,
    ALERTS,
    MLFLOW,
    VOLUME,
    IN_MEMORY,
    SPARK,
    POD_TEMPLATES,
)
