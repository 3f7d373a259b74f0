"""The 0.8 import path of the spark operator factory base: use :mod:`kedro_airflow_k8s.spark`."""

from kedro_airflow_k8s.features.spark.factory import (
    SparkCluster,
    SparkJob,
    SparkOperatorFactoryBase,
)

__all__ = ["SparkCluster", "SparkJob", "SparkOperatorFactoryBase"]
