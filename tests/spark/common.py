"""Small builders shared by the spark tests: hand-made plans and configs."""

from __future__ import annotations

from typing import Any

from kedro_airflow_k8s.config import parse_config
from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.features.spark.spec import SparkArtifactUrls, spark_spec, spark_tasks
from kedro_airflow_k8s.names import Names
from kedro_airflow_k8s.plan.model import PlannedTask, TaskKind, TaskPlan

PARAMS = {"jinja": "--params={{ kedro_params({}, {}, dag_run.conf) }}"}
HOME = "/opt/kedro/demo"


def task(
    task_id: str,
    *,
    spark: bool = False,
    nodes: tuple[str, ...] | None = None,
    upstream: tuple[str, ...] = (),
    profile: str | None = None,
    group: tuple[str, ...] = (),
) -> PlannedTask:
    return PlannedTask(
        task_id=task_id,
        pod_name=task_id.replace("_", "-"),
        kind=TaskKind.SPARK if spark else TaskKind.POD,
        nodes=nodes if nodes is not None else (task_id,),
        upstream=upstream,
        resource_profile=profile,
        task_group=group,
    )


def plan(*tasks: PlannedTask) -> TaskPlan:
    return TaskPlan("__default__", tuple(tasks))


def demo_plan() -> TaskPlan:
    """clean (pod) -> to_spark + sum_by_region (one spark group) -> report (pod)."""
    return plan(
        task("clean"),
        task("sum_by_region", spark=True, nodes=("to_spark", "sum_by_region"), upstream=("clean",)),
        task("report", upstream=("sum_by_region",)),
    )


def run_config(spark: dict[str, Any] | None, **extra: Any) -> RunConfig:
    raw: dict[str, Any] = {"image": "repo/img:1", **extra}
    if spark is not None:
        raw["spark"] = spark
    return parse_config({"run_config": raw}).run_config


DATAPROC = {
    "type": "dataproc",
    "project_id": "demo-project",
    "region": "europe-west1",
    "artifacts_path": "gs://bucket/spark",
}
K8S = {"type": "k8s", "run_script": "local:///home/kedro/spark_run.py"}
CUSTOM = {
    "type": "custom",
    "operator_factory": "demo.factory.Factory",
    "artifacts_path": "gs://bucket/spark",
}


def urls(plan_: TaskPlan) -> SparkArtifactUrls:
    return SparkArtifactUrls(
        project_home=HOME,
        init_script="gs://bucket/spark/demo-init.sh",
        project_archive="gs://bucket/spark/demo.tar.gz",
        run_scripts={
            t.full_task_id: f"gs://bucket/spark/{t.full_task_id}.py" for t in spark_tasks(plan_)
        },
    )


def free_id_in(plan_: TaskPlan) -> Any:
    """The renderer's ``free_id`` over the plan's task ids (as build_spec passes it)."""
    return Names(t.full_task_id for t in plan_.tasks).claim


def spec_for(
    plan_: TaskPlan, config: RunConfig, *, run_name: str = "Spark Demo", **overrides: Any
) -> dict[str, Any] | None:
    """``spark_spec`` with the demo's values (env ``prod``, pipeline ``__default__``)."""
    arguments: dict[str, Any] = {
        "env": "prod",
        "pipeline": "__default__",
        "run_name": run_name,
        "image": "repo/img:1",
        "urls": urls(plan_),
        "params": PARAMS,
        "free_id": free_id_in(plan_),
        **overrides,
    }
    return spark_spec(plan_, config, **arguments)
