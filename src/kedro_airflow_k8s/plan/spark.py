"""Which nodes need Spark, read from tags, type hints and the catalog (pyspark is never imported).

A node is a spark node when (first rule that applies):

1. it is tagged with :attr:`PlanOptions.spark_tag`;
2. a type hint of its function names a pyspark DataFrame (``pyspark.sql.DataFrame``,
   ``pyspark.sql.dataframe.DataFrame``, ``pyspark.sql.connect.dataframe.DataFrame``...), also
   inside ``Optional[...]``, unions, containers and string annotations; the name must be
   qualified with a ``pyspark`` module, as a bare ``DataFrame`` may just as well be pandas;
3. one of its inputs or outputs is a Spark dataset in the catalog (``SparkDataset``,
   ``SparkHiveDataset``, ``SparkJDBCDataset``, ``SparkStreamingDataset``, in ``DataSet`` and
   ``Dataset`` spellings, or any type from a ``spark`` module such as
   ``spark.DeltaTableDataset``).

Rules 2 and 3 are the automatic detection that :attr:`PlanOptions.detect_spark` turns off.
The fourth rule of the original plugin (a default node that reads from and feeds a spark group
joins it) is applied when groups are formed, see :mod:`kedro_airflow_k8s.plan.fusion`.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from functools import lru_cache

from kedro_airflow_k8s.plan.model import PlanOptions
from kedro_airflow_k8s.snapshot import DatasetSpec, NodeSpec

_DOTTED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*")
_SPARK_DATASET_NAMES = frozenset(
    f"Spark{kind}{spelling}"
    for kind in ("", "Hive", "JDBC", "Streaming")
    for spelling in ("Dataset", "DataSet")
)


def is_spark_annotation(annotation: str) -> bool:
    """True when the annotation text names a pyspark DataFrame anywhere inside it."""
    for match in _DOTTED_NAME.finditer(annotation):
        parts = [part.strip() for part in match.group(0).split(".")]
        if len(parts) > 1 and parts[0] == "pyspark" and parts[-1] == "DataFrame":
            return True
    return False


def is_spark_dataset_type(dataset_type: str | None) -> bool:
    """True for the catalog types of Spark datasets, short or fully qualified."""
    return _cached_is_spark_type(dataset_type)


@lru_cache(maxsize=1024)
def _cached_is_spark_type(dataset_type: str | None) -> bool:
    if not dataset_type:
        return False
    *modules, class_name = dataset_type.strip().split(".")
    return class_name in _SPARK_DATASET_NAMES or "spark" in modules


def spark_datasets(datasets: Mapping[str, DatasetSpec]) -> frozenset[str]:
    """The names of the catalog's Spark datasets."""
    return frozenset(name for name, spec in datasets.items() if is_spark_dataset_type(spec.type))


def spark_reason(node: NodeSpec, spark_data: Container[str], options: PlanOptions) -> str | None:
    """Why ``node`` is a spark node (for messages), or None when it is not one by itself.

    ``spark_data`` holds the names of the Spark datasets (see :func:`spark_datasets`).
    """
    if options.spark_tag and options.spark_tag in node.tags:
        return f"tag {options.spark_tag}"
    if not options.detect_spark:
        return None
    for parameter, annotation in node.annotations:
        if is_spark_annotation(annotation):
            return f"type hint of {parameter!r}: {annotation}"
    for dataset in (*node.inputs, *node.outputs):
        if dataset in spark_data:
            return f"Spark dataset {dataset!r}"
    return None
