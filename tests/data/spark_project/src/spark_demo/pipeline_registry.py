"""Pipelines of the spark demo."""

from kedro.pipeline import Pipeline

from spark_demo.pipelines.sales import create_pipeline


def register_pipelines() -> dict[str, Pipeline]:
    pipeline = create_pipeline()
    return {"__default__": pipeline, "sales": pipeline}
