"""Pipelines of the grouping demo."""

from kedro.pipeline import Pipeline, node

SPARK = "kedro-airflow-k8s.group.pyspark"


def step(*values: object) -> object:
    return values


def register_pipelines() -> dict[str, Pipeline]:
    pipeline = Pipeline(
        [
            node(step, "raw", "extracted", name="extract", tags=["airflow.ingest"]),
            node(step, "extracted", "cleaned", name="clean", tags=["airflow.ingest"]),
            node(step, "cleaned", "aggregated", name="spark_aggregate", tags=[SPARK]),
            node(step, "aggregated", "bridged", name="bridge"),
            node(step, ["bridged", "aggregated"], "joined", name="spark_join", tags=[SPARK]),
            node(step, "joined", "inner_features", name="make_inner", namespace="features.inner"),
            node(step, "inner_features", "features", name="make_outer", namespace="features"),
            node(step, ["features", "params:alpha"], "model", name="train", tags=["resources.big"]),
            node(step, ["model", "cleaned"], "report", name="report"),
        ]
    )
    return {"__default__": pipeline}
