"""Sales totals per region: cleaned with pandas, summed with Spark, reported with pandas.

pyspark is only imported when a spark node runs; the type hints name it for the plugin's
spark detection (``to_spark`` and ``sum_by_region`` form one spark group).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from kedro.pipeline import Pipeline, node

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame


def clean(raw: pd.DataFrame) -> pd.DataFrame:
    return raw[raw["amount"] > 0].reset_index(drop=True)


def to_spark(sales: pd.DataFrame) -> SparkDataFrame:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    return spark.createDataFrame(sales)


def sum_by_region(sales: SparkDataFrame) -> pd.DataFrame:
    from pyspark.sql import functions as F

    totals = sales.groupBy("region").agg(F.sum("amount").alias("total")).orderBy("region")
    return pd.DataFrame([row.asDict() for row in totals.collect()])


def report(totals: pd.DataFrame) -> dict[str, Any]:
    return {str(r): int(t) for r, t in zip(totals["region"], totals["total"], strict=True)}


def create_pipeline() -> Pipeline:
    return Pipeline(
        [
            node(clean, "raw_sales", "clean_sales", name="clean"),
            node(to_spark, "clean_sales", "spark_sales", name="to_spark"),
            node(sum_by_region, "spark_sales", "region_totals", name="sum_by_region"),
            node(report, "region_totals", "report", name="report"),
        ]
    )
