"""Spark groups as Spark jobs: a DAG builder extension (see dag_builder).

Embedded into the generated DAG file after the builder when the SPEC has a ``spark`` section:

* ``dataproc``: an ephemeral Dataproc cluster per DAG run (providers-google), one submit-job
  task per spark group, the cluster deleted whatever the jobs did (``all_done``);
* ``k8s``: one spark-submit per group against the Kubernetes master of the Spark connection
  (providers-apache-spark), in cluster mode;
* ``custom``: the operators the user's factory wrote into the file (``CUSTOM_SPARK_OPERATORS``),
  wired the same way as Dataproc's.

The cluster name is unique per DAG run: ``<base>-<hash of dag id and run id>``, rendered by the
``kak8s_spark_cluster_name(run_id)`` macro. The environment the pods get (Airflow Variables,
``MLFLOW_RUN_ID``...) reaches the Spark driver and executors.
"""

import hashlib
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # the SPEC's types; never imported inside Airflow (runtime/spec.py)
    from .spec import DagSpec, DataprocJobSpec, K8sJobSpec, SparkClusterSpec, SparkSpec, TaskSpec


def spark_cluster_name(base: str, dag_id: str, run_id: str) -> str:
    """``<base>-<10 hex digits>``: unique per DAG run, valid for Dataproc (at most 51 chars)."""
    digest = hashlib.sha256(f"{dag_id}\n{run_id}".encode()).hexdigest()[:10]
    return f"{base}-{digest}"


SPARK_CLUSTER_TEMPLATE = {"jinja": "{{ kak8s_spark_cluster_name(run_id) }}"}


def _env_arguments(env: dict[str, Any]) -> list[Any]:
    """``--set-env NAME=VALUE`` for the run script (the driver's environment)."""
    out: list[Any] = []
    for name, value in env.items():
        if isinstance(value, dict) and set(value) == {"jinja"}:
            out.append({"jinja": f"--set-env={name}={value['jinja']}"})
        else:
            out.append(f"--set-env={name}={value}")
    return out


def spark_section(spec: "DagSpec") -> "SparkSpec":
    """``SPEC["spark"]``, which a DAG given the spark extension has."""
    spark = spec.get("spark")
    if spark is None:
        raise ValueError("SparkExtension needs the SPEC's spark section")
    return spark


def spark_cluster(spark: "SparkSpec") -> "SparkClusterSpec":
    """The cluster of a dataproc or custom spark section."""
    cluster = spark.get("cluster")
    if cluster is None:
        raise ValueError(f"a spark section of type {spark['type']!r} has no cluster")
    return cluster


def dataproc_job(
    spec: "DagSpec", task_id: str, env: dict[str, Any], untemplated: Any
) -> dict[str, Any]:
    """The Dataproc API job of one spark group (strings protected from Jinja but the
    cluster name and the --params / environment templates)."""
    spark = spark_section(spec)
    job = cast("DataprocJobSpec", spark["jobs"][task_id])
    properties = dict(job.get("properties") or {})
    for name, value in env.items():
        properties.setdefault(f"spark.executorEnv.{name}", value)
    return {
        "reference": {"project_id": untemplated(spark_cluster(spark)["project_id"])},
        "placement": {"cluster_name": untemplated(SPARK_CLUSTER_TEMPLATE)},
        "pyspark_job": {
            "main_python_file_uri": untemplated(job["main_python_file_uri"]),
            "args": untemplated(list(job["args"]) + _env_arguments(env)),
            "properties": untemplated(properties),
        },
    }


def k8s_conf(spec: "DagSpec", task_id: str, env: dict[str, Any]) -> dict[str, Any]:
    """A group's spark-submit properties: the generated ones, then the pod environment for
    the driver and executors (configured properties keep their value)."""
    conf = dict(cast("K8sJobSpec", spark_section(spec)["jobs"][task_id])["conf"])
    for name, value in env.items():
        conf.setdefault(f"spark.kubernetes.driverEnv.{name}", value)
        conf.setdefault(f"spark.executorEnv.{name}", value)
    return conf


class SparkExtension:
    """DAG builder extension (see dag_builder): spark groups as Spark jobs."""

    def __init__(self, protect: Any, custom_operators: Any = None) -> None:
        # protect: the builder's untemplated() (plain strings kept from Jinja, {"jinja": t} kept)
        self.protect = protect
        self.custom_operators = custom_operators or {}

    @staticmethod
    def dag_arguments(spec: "DagSpec", kwargs: dict[str, Any]) -> None:
        spark = spark_section(spec)
        if "cluster" not in spark:
            return
        base, dag_id = spark["cluster"]["name_base"], spec["dag"]["dag_id"]
        macros = dict(kwargs.get("user_defined_macros") or {})
        macros["kak8s_spark_cluster_name"] = lambda run_id: spark_cluster_name(
            base, dag_id, str(run_id)
        )
        kwargs["user_defined_macros"] = macros

    def task_operator(self, spec: "DagSpec", task: "TaskSpec", kwargs: dict[str, Any]) -> Any:
        """The operator of a spark group's task, or None for the other tasks."""
        untemplated = self.protect
        spark = spark_section(spec)
        task_id = task["full_task_id"]
        if task_id not in spark["tasks"]:
            return None
        env = dict(kwargs.get("env_vars") or {})
        if spark["type"] == "dataproc":
            from airflow.providers.google.cloud.operators.dataproc import (
                DataprocSubmitJobOperator,
            )

            cluster = spark_cluster(spark)
            return DataprocSubmitJobOperator(
                task_id=task["task_id"],
                project_id=untemplated(cluster["project_id"]),
                region=untemplated(cluster["region"]),
                gcp_conn_id=untemplated(cluster["gcp_conn_id"]),
                job=dataproc_job(spec, task_id, env, untemplated),
            )
        if spark["type"] == "k8s":
            from airflow.providers.apache.spark.operators.spark_submit import (
                SparkSubmitOperator,
            )

            job = cast("K8sJobSpec", spark["jobs"][task_id])
            return SparkSubmitOperator(
                task_id=task["task_id"],
                conn_id=job["conn_id"],
                application=untemplated(job["application"]),
                name=untemplated(job["name"]),
                deploy_mode="cluster",
                conf=untemplated(k8s_conf(spec, task_id, env)),
                application_args=untemplated(list(job["application_args"])),
            )
        operator = self.custom_operators["submit"][task_id]()
        if operator.task_id != task_id:
            raise ValueError(
                f"the custom spark factory's operator for {task_id!r} has task_id "
                f"{operator.task_id!r}; use SparkJob.task_id"
            )
        return operator

    def add_tasks(
        self, dag: Any, spec: "DagSpec", roots: list[Any], leaves: list[Any]
    ) -> list[tuple[Any, Any]]:
        spark = spark_section(spec)
        if "create_task_id" not in spark:
            return []
        if spark["type"] == "dataproc":
            from airflow.providers.google.cloud.operators.dataproc import (
                DataprocCreateClusterOperator,
                DataprocDeleteClusterOperator,
            )

            cluster = spark_cluster(spark)
            common = {
                "project_id": self.protect(cluster["project_id"]),
                "region": self.protect(cluster["region"]),
                "gcp_conn_id": self.protect(cluster["gcp_conn_id"]),
                "cluster_name": self.protect(SPARK_CLUSTER_TEMPLATE),
                "dag": dag,
            }
            create = DataprocCreateClusterOperator(
                task_id=spark["create_task_id"],
                cluster_config=self.protect(cluster["cluster_config"]),
                **common,
            )
            delete = DataprocDeleteClusterOperator(
                task_id=spark["delete_task_id"], trigger_rule="all_done", **common
            )
        else:
            create = self.custom_operators["create"]()
            delete = self.custom_operators["delete"]()
            delete.trigger_rule = type(create.trigger_rule)("all_done")  # Airflow's TriggerRule
            wanted_ids = (
                (create, "create_task_id", spark["create_task_id"]),
                (delete, "delete_task_id", spark["delete_task_id"]),
            )
            for operator, wanted, wanted_id in wanted_ids:
                if operator.task_id != wanted_id:
                    raise ValueError(
                        f"the custom spark factory's operator has task_id {operator.task_id!r}; "
                        f"use SparkCluster.{wanted} ({wanted_id!r})"
                    )
        jobs = [dag.get_task(task_id) for task_id in spark["tasks"]]
        after = [dag.get_task(task_id) for task_id in spark.get("create_after", [])]
        if not after:  # what waits before the first tasks (sensors...) waits before the cluster
            after = list({t.task_id: t for root in roots for t in root.upstream_list}.values())
        edges: list[tuple[Any, Any]] = [(task, create) for task in after]
        for job in jobs:
            edges += [(create, job), (job, delete)]
        edges.append((create, delete))
        return edges
