"""The spark cluster's life in a real Airflow 3 run: created before the spark group, deleted
whatever the job did, and a failed job still fails the DAG run.

The DAG uses a custom operator factory whose operators are plain BashOperators standing in for
the cluster and job operators (no cloud here); the pods before and after the group run through
the Kubernetes emulator. One run where the job succeeds, one where it fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from kedro_airflow_k8s.config import parse_config
from kedro_airflow_k8s.features.spark.artifacts import SparkArtifacts
from kedro_airflow_k8s.features.spark.custom import custom_operators_source
from kedro_airflow_k8s.features.spark.spec import SparkArtifactUrls
from kedro_airflow_k8s.plan import PlanOptions, build_plan
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec
from kedro_airflow_k8s.spark import SparkCluster, SparkJob, SparkOperatorFactoryBase

SPARK_TAG = "kedro-airflow-k8s.group.pyspark"


class BashStandIns(SparkOperatorFactoryBase):
    """Stand-ins for the cluster and job operators; the job exits with ``job_exit_code``."""

    def __init__(self, job_exit_code: int) -> None:
        self.job_exit_code = job_exit_code

    @property
    def imports_statement(self) -> str:
        return "from airflow.providers.standard.operators.bash import BashOperator"

    def create_cluster_operator(self, cluster: SparkCluster) -> str:
        return self.call("BashOperator", task_id=cluster.create_task_id, bash_command="true")

    def delete_cluster_operator(self, cluster: SparkCluster) -> str:
        return self.call("BashOperator", task_id=cluster.delete_task_id, bash_command="true")

    def submit_operator(self, job: SparkJob) -> str:
        command = f"exit {self.job_exit_code}"
        return self.call("BashOperator", task_id=job.task_id, bash_command=command)


def _spark_dag(dag_id: str, job_exit_code: int) -> str:
    config = parse_config(
        {
            "run_config": {
                "image": "spark-e2e:1",
                "retries": 0,
                "cron_expression": None,
                "spark": {
                    "type": "custom",
                    # Named for the config's check; the test hands the renderer its instance.
                    "operator_factory": "tests.e2e.test_spark_cluster_e2e.BashStandIns",
                    "artifacts_path": "gs://unused/spark",
                },
            }
        }
    )
    pipeline = PipelineSpec(
        "__default__",
        (
            NodeSpec("prepare", ("raw",), ("rows",)),
            NodeSpec("aggregate", ("rows",), ("totals",), tags=(SPARK_TAG,)),
            NodeSpec("publish", ("totals",), ("report",)),
        ),
    )
    datasets = {
        n: DatasetSpec(n, DatasetSource.ENTRY, "pickle.PickleDataset")
        for n in ("raw", "rows", "totals", "report")
    }
    plan = build_plan(pipeline, datasets, PlanOptions())
    urls = SparkArtifactUrls(
        "/opt/kedro/spark_e2e",
        init_script="gs://unused/spark/init.sh",
        project_archive="gs://unused/spark/p.tar.gz",
        run_scripts={t.full_task_id: "gs://unused/spark/run.py" for t in plan.tasks},
    )
    context = DagContext("Spark e2e", "spark_e2e", "__default__", "e2e")
    spec = build_spec(
        plan,
        config.run_config,
        context,
        dag_id=dag_id,
        artifacts={"spark": SparkArtifacts("", urls=urls)},
    )
    for task in spec["tasks"]:  # what the pods run: nothing but a success
        task["arguments"] = ["python", "-c", "print('pod ran')"]
    custom = custom_operators_source(
        BashStandIns(job_exit_code),
        spec["spark"],
        plan,
        project_name="Spark e2e",
        env="e2e",
        pipeline="__default__",
        urls=urls,
        params={"jinja": "--params="},
        runner="ThreadRunner",
        cluster_config={},
    )
    return render_dag(spec, {"spark": custom})


def _states(airflow_server: Any, dag_id: str, job_exit_code: int) -> tuple[str, dict[str, str]]:
    airflow_server.write_dag(f"{dag_id}.py", _spark_dag(dag_id, job_exit_code))
    api = airflow_server.api
    api.request_parse(api.any_file_token())
    api.wait_for_dag(dag_id, timeout=90)
    api.set_paused(dag_id, False)
    run_id = api.trigger(dag_id, {})["dag_run_id"]
    run = api.wait_for_run(dag_id, run_id, timeout=180)
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances(dag_id, run_id)}
    return run["state"], states


@pytest.mark.parametrize(
    ("job_exit_code", "run_state", "expected"),
    [
        (
            0,
            "success",
            {
                "prepare": "success",
                "create_spark_cluster": "success",
                "aggregate": "success",
                "delete_spark_cluster": "success",
                "publish": "success",
                "pipeline_complete": "success",
            },
        ),
        (
            3,
            "failed",
            {
                "prepare": "success",
                "create_spark_cluster": "success",
                "aggregate": "failed",
                "delete_spark_cluster": "success",  # deleted whatever the job did
                "publish": "upstream_failed",
                "pipeline_complete": "upstream_failed",
            },
        ),
    ],
    ids=["job-succeeds", "job-fails"],
)
def test_cluster_is_deleted_and_a_failed_job_fails_the_run(
    airflow_server: Any, job_exit_code: int, run_state: str, expected: dict[str, str]
) -> None:
    dag_id = f"spark_cluster_e2e_{job_exit_code}"
    state, states = _states(airflow_server, dag_id, job_exit_code)
    assert states == expected
    assert state == run_state
