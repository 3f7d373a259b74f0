"""What a custom Spark operator factory derives from and receives (``spark.type: custom``).

See :mod:`kedro_airflow_k8s.features.spark.factory` and docs/spark.md.
"""

from kedro_airflow_k8s.features.spark.factory import (
    SparkCluster,
    SparkJob,
    SparkOperatorFactoryBase,
)

__all__ = ["SparkCluster", "SparkJob", "SparkOperatorFactoryBase"]
